#include "server/app/dispatcher.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "server/app/clock.hpp"
#include "server/app/log.hpp"

namespace huxiao {

namespace asio = boost::asio;
using terminal::ErrorCode;
using terminal::ProtocolError;

Dispatcher::Dispatcher(asio::any_io_executor executor, const Config& config, db::IncidentLog& log,
                       RegistryHolder& registry, Metrics& metrics)
    : strand_(asio::make_strand(executor)),
      config_(config),
      log_(log),
      registry_(registry),
      metrics_(metrics),
      triage_(config.dispatch.repeat_window_s) {}

void Dispatcher::restore(const std::vector<AlarmTriage::OpenIncident>& open,
                         UnixMicros newest_incident_at) {
    triage_.ids().observe(newest_incident_at);
    for (const auto& incident : open) triage_.restore(incident);
    open_incidents_ = triage_.open_incidents();
}

void Dispatcher::terminal_online(std::shared_ptr<TerminalPort> port, const std::string& school) {
    asio::post(strand_, [this, port = std::move(port), school] {
        online_by_school_.emplace(school, port);
    });
}

void Dispatcher::terminal_offline(const std::shared_ptr<TerminalPort>& port,
                                  const std::string& school) {
    asio::post(strand_, [this, raw = port.get(), school] {
        auto [first, last] = online_by_school_.equal_range(school);
        for (auto it = first; it != last;) {
            auto p = it->second.lock();
            it = (!p || p.get() == raw) ? online_by_school_.erase(it) : std::next(it);
        }
    });
}

void Dispatcher::alarm(std::shared_ptr<TerminalPort> port, const std::string& school,
                       terminal::Alarm alarm, UnixMicros received_at) {
    asio::post(strand_, [this, port = std::move(port), school, alarm = std::move(alarm),
                         received_at]() mutable {
        on_alarm(port, school, std::move(alarm), received_at);
    });
}

void Dispatcher::on_alarm(const std::shared_ptr<TerminalPort>& port, const std::string& school,
                          terminal::Alarm alarm, UnixMicros received_at) {
    const std::string& terminal_id = port->terminal_id();
    ++metrics_.alarms_received;
    const TriageOutcome outcome =
        triage_.triage({terminal_id, alarm.id, school, alarm.drill, received_at});

    db::AlarmRecord record;
    record.terminal = terminal_id;
    record.event_id = alarm.id;
    record.kind = alarm.kind;
    record.terminal_at = alarm.at;
    record.drill = alarm.drill;
    record.note = alarm.note;
    record.received_at = received_at;
    std::string proposed;
    if (const auto* n = std::get_if<NewIncident>(&outcome)) {
        proposed = n->incident;
        record.incident = n->incident;
        open_incidents_ = triage_.open_incidents();
        ++metrics_.incidents_opened;
        log_info("dispatch", "alarm " + alarm.id + " from " + terminal_id + " (" + alarm.kind +
                                 (alarm.drill ? ", drill" : "") + ") opened incident " + proposed);
        push_status(school, {proposed, "received", std::nullopt, std::nullopt, alarm.drill, received_at});
    } else if (const auto* r = std::get_if<RepeatAlarm>(&outcome)) {
        proposed = r->incident;
        record.incident = r->incident;
        record.join = r->incident;
        log_info("dispatch", "alarm " + alarm.id + " from " + terminal_id + " joins " + proposed);
    } else {
        // A retransmission: record it again (idempotent) so the ack still
        // follows a commit, even if the first attempt never committed.
        proposed = std::get<Retransmission>(outcome).incident;
        record.incident = proposed;
    }

    log_.record_alarm(std::move(record), [this, port, alarm_id = alarm.id, proposed, received_at](
                                             db::RecordResult result) {
        metrics_.db_write_latency.observe(static_cast<double>(system_now() - received_at) / 1e6);
        using Status = db::RecordResult::Status;
        if (result.status == Status::committed) {
            if (result.incident != proposed) {
                // The database knew this alarm id from before (an incident this
                // process has forgotten): its answer stands.
                asio::post(strand_, [this, terminal = port->terminal_id(), alarm_id,
                                     recorded = result.incident, proposed] {
                    triage_.correct(terminal, alarm_id, recorded);
                    triage_.close(proposed);
                    open_incidents_ = triage_.open_incidents();
                });
            }
            port->send(terminal::encode_ack(alarm_id, result.incident));
            ++metrics_.alarms_acked;
            metrics_.ack_latency.observe(static_cast<double>(system_now() - received_at) / 1e6);
        } else {
            ++metrics_.alarms_unavailable;
            port->send(terminal::encode_error(
                ProtocolError{ErrorCode::unavailable,
                              "alarm not yet durable (" + result.message + "); retry with the same id",
                              alarm_id}));
        }
    });
}

void Dispatcher::cancel(std::shared_ptr<TerminalPort> port, const std::string& school,
                        terminal::Cancel cancel, UnixMicros received_at) {
    asio::post(strand_, [this, port = std::move(port), school, cancel = std::move(cancel),
                         received_at]() mutable {
        db::CancelRecord record{port->terminal_id(), cancel.id, cancel.alarm, cancel.reason,
                                triage_.incident_of(port->terminal_id(), cancel.alarm),
                                received_at};
        log_.record_cancel(std::move(record), [port, cancel_id = cancel.id,
                                               alarm_id = cancel.alarm](db::RecordResult result) {
            using Status = db::RecordResult::Status;
            if (result.status == Status::committed && result.outcome == "unknown_alarm") {
                port->send(terminal::encode_error(
                    ProtocolError{ErrorCode::bad_frame,
                                  "no alarm \"" + alarm_id + "\" from this terminal to cancel",
                                  cancel_id}));
            } else if (result.status == Status::committed) {
                port->send(terminal::encode_ack(cancel_id, result.incident));
            } else {
                port->send(terminal::encode_error(
                    ProtocolError{ErrorCode::unavailable,
                                  "cancel not yet durable (" + result.message + "); retry",
                                  cancel_id}));
            }
        });
    });
}

void Dispatcher::push_status(const std::string& school, const terminal::StatusPush& status) {
    const std::string frame = terminal::encode_status(status);
    auto [first, last] = online_by_school_.equal_range(school);
    for (auto it = first; it != last; ++it) {
        if (auto port = it->second.lock()) port->send(frame);
    }
}

}  // namespace huxiao
