#include "server/app/alarm_intake.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "common/protocol/console_protocol.hpp"
#include "server/app/clock.hpp"
#include "server/app/log.hpp"

namespace huxiao {

namespace asio = boost::asio;
using nlohmann::json;

AlarmIntake::AlarmIntake(asio::any_io_executor strand, int repeat_window_s, db::IncidentLog& log,
                         Metrics& metrics, ConsoleHub& consoles, RegistryHolder& registry,
                         ToCore to_core)
    : strand_(std::move(strand)),
      log_(log),
      metrics_(metrics),
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
    if (const auto* n = std::get_if<NewIncident>(&outcome)) {
        incident = n->incident;
        fresh = true;
        open_incidents_ = triage_.open_incidents();
        metrics_.incidents_opened.increment();
        log_info("dispatch", "alarm " + alarm.id + " from " + terminal + " (" + alarm.kind +
                                 (alarm.drill ? ", drill" : "") + ") opened incident " + incident);
    } else if (const auto* r = std::get_if<RepeatAlarm>(&outcome)) {
        incident = r->incident;
        record.join = r->incident;
        log_info("dispatch", "alarm " + alarm.id + " from " + terminal + " joins " + incident);
    } else {
        // A retransmission: record it again (idempotent) so the ack still
        // follows a commit, even if the first attempt never committed.
        incident = std::get<Retransmission>(outcome).incident;
    }
    record.incident = incident;
    const bool retransmission = std::holds_alternative<Retransmission>(outcome);

    // The record is queued before anything the core appends for this
    // incident (the core hears of it below), and the IncidentLog pins an
    // incident's records to one connection: its writes commit in order.
    log_.record_alarm(std::move(record), [this, reply = std::move(reply), terminal,
                                          alarm_id = alarm.id, incident,
                                          received_at](db::RecordResult result) {
        metrics_.db_write_latency.observe(static_cast<double>(system_now() - received_at) / 1e6);
        if (result.status != db::RecordResult::Status::committed) {
            metrics_.alarms_unavailable.increment();
            reply({IntakeReply::Status::unavailable, incident, result.message});
            return;
        }
        // Counted before the ack leaves: whoever saw the ack finds it in /metrics.
        metrics_.alarms_acked.increment();
        metrics_.ack_latency.observe(static_cast<double>(system_now() - received_at) / 1e6);
        reply({IntakeReply::Status::durable, result.incident, {}});
        asio::post(strand_, [this, terminal, alarm_id, incident, recorded = result.incident] {
            committed(terminal, alarm_id, incident, recorded);
        });
    });

    if (!retransmission) {
        json details = {{"alarm", alarm.id}, {"kind", alarm.kind}, {"drill", alarm.drill}};
        if (!alarm.note.empty()) details["note"] = alarm.note;
        console_protocol::Event event{incident,    fresh ? "alarm_received" : "repeat_alarm",
                                      received_at, terminal,
                                      {},          school,
                                      {},          {}};
        publish(school, console_protocol::encode_event(event, details));
        to_core_(dispatch::AlarmIntaken{incident, school, alarm.kind, alarm.drill,
                                        from_unix_micros(received_at), fresh});
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
    auto incident = triage_.incident_of(terminal, cancel.alarm);
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
