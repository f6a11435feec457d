#include "server/app/alarm_intake.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "common/protocol/console_protocol.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"

namespace huxiao {

namespace asio = boost::asio;
using nlohmann::json;

AlarmIntake::AlarmIntake(asio::any_io_executor strand, int repeat_window_s, db::IncidentLog& log,
                         Metrics& metrics, const Clock& clock, ConsoleHub& consoles,
                         RegistryHolder& registry, ToCore to_core)
    : strand_(std::move(strand)),
      log_(log),
      metrics_(metrics),
      clock_(clock),
      consoles_(consoles),
      registry_(registry),
      to_core_(std::move(to_core)),
      triage_(repeat_window_s) {}

void AlarmIntake::publish(const std::string& school, std::string text) {
    const School* s = registry_.get()->school(school);
    consoles_.publish(s == nullptr ? std::string() : s->district, std::move(text));
}

void AlarmIntake::incident_closed(const std::string& incident) {
    triage_.close(incident);
    open_incidents_ = triage_.open_incidents();
}

void AlarmIntake::alarm(const std::string& school, const std::string& terminal,
                        terminal::Alarm alarm, UnixMicros received_at, IntakeReplier reply) {
    metrics_.alarms_received.increment();
    const TriageOutcome outcome =
        triage_.triage({terminal, alarm.id, school, alarm.drill, received_at});

    db::AlarmRecord record;
    record.terminal = terminal;
    record.event_id = alarm.id;
    record.kind = alarm.kind;
    record.terminal_at = alarm.at;
    record.drill = alarm.drill;
    record.note = alarm.note;
    record.received_at = received_at;
    std::string incident;
    bool fresh = false;
    bool announce_now = true;  // consoles and the core hear of it before the commit
    if (const auto* n = std::get_if<NewIncident>(&outcome)) {
        incident = n->incident;
        fresh = true;
    } else if (const auto* r = std::get_if<RepeatAlarm>(&outcome)) {
        incident = r->incident;
        record.join = r->incident;
    } else if (const auto* u = std::get_if<Unverified>(&outcome)) {
        // Maybe a retransmission of an alarm recorded before the restart:
        // the database decides, and only then does anyone hear of it.
        incident = u->incident;
        if (u->joins) record.join = u->incident;
        announce_now = false;
    } else {
        // A retransmission: record it again (idempotent) so the ack still
        // follows a commit, even if the first attempt never committed.
        incident = std::get<Retransmission>(outcome).incident;
        announce_now = false;
    }
    record.incident = incident;
    const bool unverified = std::holds_alternative<Unverified>(outcome);
    AlarmFacts facts{school,      terminal,   alarm.id,    alarm.kind,
                     alarm.drill, alarm.note, received_at, std::move(incident)};

    // The record is queued before anything the core appends for this
    // incident (the core hears of it below, or after this commit when
    // unverified), and the IncidentLog pins an incident's records to one
    // connection: its writes commit in order.
    log_.record_alarm(std::move(record), [this, reply = std::move(reply), facts,
                                          unverified](db::RecordResult result) {
        metrics_.db_write_latency.observe(static_cast<double>(clock_.now() - facts.received_at) /
                                          1e6);
        if (result.status != db::RecordResult::Status::committed) {
            metrics_.alarms_unavailable.increment();
            reply({IntakeReply::Status::unavailable, facts.incident, result.message});
            return;
        }
        // Counted before the ack leaves: whoever saw the ack finds it in /metrics.
        metrics_.alarms_acked.increment();
        metrics_.ack_latency.observe(static_cast<double>(clock_.now() - facts.received_at) / 1e6);
        reply({IntakeReply::Status::durable, result.incident, {}});
        // Recorded as triage proposed: nothing for the strand to learn, so
        // no hop back to it (committed() would return at once).
        if (!unverified && result.incident == facts.incident) return;
        asio::post(strand_, [this, facts, unverified, recorded = result.incident,
                             recorded_now = result.outcome != "duplicate"] {
            if (unverified) {
                resolved(facts, recorded, recorded_now);
            } else {
                committed(facts.terminal, facts.alarm_id, facts.incident, recorded);
            }
        });
    });

    if (announce_now) announce(facts, fresh);
}

// An alarm that opened or joined an incident: consoles and the core hear of it.
void AlarmIntake::announce(const AlarmFacts& alarm, bool fresh) {
    if (fresh) {
        open_incidents_ = triage_.open_incidents();
        metrics_.incidents_opened.increment();
    }
    // The log line and the console event are built only for someone to read
    // them: with the log at warn and no console connected, building them was
    // most of an alarm's cost (docs/performance.md §4.5).
    if (log_enabled(LogLevel::info)) {
        log_info("dispatch", fresh ? "alarm " + alarm.alarm_id + " from " + alarm.terminal + " (" +
                                         alarm.kind + (alarm.drill ? ", drill" : "") +
                                         ") opened incident " + alarm.incident
                                   : "alarm " + alarm.alarm_id + " from " + alarm.terminal +
                                         " joins " + alarm.incident);
    }
    if (!consoles_.empty()) {
        json details = {{"alarm", alarm.alarm_id}, {"kind", alarm.kind}, {"drill", alarm.drill}};
        if (!alarm.note.empty()) details["note"] = alarm.note;
        console_protocol::Event event{alarm.incident,
                                      fresh ? "alarm_received" : "repeat_alarm",
                                      alarm.received_at,
                                      alarm.terminal,
                                      {},
                                      alarm.school,
                                      {},
                                      {}};
        publish(alarm.school, console_protocol::encode_event(event, details));
    }
    to_core_(dispatch::AlarmIntaken{alarm.incident, alarm.school, alarm.kind, alarm.drill,
                                    from_unix_micros(alarm.received_at), fresh});
}

// On the strand, after an Unverified alarm's commit: now the triage and,
// unless it was a retransmission, consoles and the core learn what it was.
void AlarmIntake::resolved(const AlarmFacts& alarm, const std::string& recorded,
                           bool recorded_now) {
    switch (triage_.resolve(alarm.terminal, alarm.alarm_id, recorded, recorded_now)) {
        case AlarmTriage::Resolution::opened:
            announce(alarm, true);
            break;
        case AlarmTriage::Resolution::joined:
            announce(alarm, false);
            break;
        case AlarmTriage::Resolution::duplicate:
            log_info("dispatch", "alarm " + alarm.alarm_id + " from " + alarm.terminal +
                                     " was a retransmission (incident " + recorded + ")");
            break;
        case AlarmTriage::Resolution::none:
            break;
    }
}

// On the strand, after the alarm's commit: the database's answer stands.
void AlarmIntake::committed(const std::string& terminal, const std::string& alarm_id,
                            const std::string& proposed, const std::string& recorded) {
    if (recorded == proposed) return;
    triage_.correct(terminal, alarm_id, recorded);
    to_core_(dispatch::AlarmReconciled{proposed, recorded});
    incident_closed(proposed);
}

void AlarmIntake::cancel(const std::string& school, const std::string& terminal,
                         terminal::Cancel cancel, UnixMicros received_at, IntakeReplier reply) {
    if (cancel.alarm.empty()) {
        // A DC-09 cancel names no alarm: the terminal's latest open one.
        auto latest = triage_.latest_open_alarm(terminal);
        if (!latest) {
            reply({IntakeReply::Status::unknown_alarm, {}, "no open alarm to cancel"});
            return;
        }
        cancel.alarm = *latest;
    }
    // Pinned behind the alarm's record (its incident, or the one an
    // unverified alarm proposed), so that the cancel finds it.
    auto incident = triage_.incident_of(terminal, cancel.alarm);
    if (!incident) incident = triage_.proposal_of(terminal, cancel.alarm);
    db::CancelRecord record{terminal,      cancel.id, cancel.alarm,
                            cancel.reason, incident,  received_at};
    log_.record_cancel(std::move(record), [this, reply = std::move(reply), terminal,
                                           cancel_id = cancel.id, alarm_id = cancel.alarm,
                                           reason = cancel.reason, received_at,
                                           school](db::RecordResult result) {
        using Status = db::RecordResult::Status;
        if (result.status != Status::committed) {
            reply({IntakeReply::Status::unavailable, {}, result.message});
            return;
        }
        if (result.outcome == "unknown_alarm") {
            reply({IntakeReply::Status::unknown_alarm, {}, {}});
            return;
        }
        reply({IntakeReply::Status::durable, result.incident, {}});
        if (result.outcome != "new") return;
        asio::post(strand_, [this, incident = result.incident, terminal, cancel_id, alarm_id,
                             reason, received_at, school] {
            console_protocol::Event event{
                incident, "cancel_requested", received_at, terminal, {}, school, {}, {}};
            publish(school,
                    console_protocol::encode_event(
                        event, {{"request", cancel_id}, {"alarm", alarm_id}, {"reason", reason}}));
        });
    });
}

}  // namespace huxiao
