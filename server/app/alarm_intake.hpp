// AlarmIntake: what happens to an alarm or a cancel request from a school
// terminal (contract §3) before the dispatch core sees it. It triages the
// alarm (new incident, repeat alarm or retransmission), queues its record to
// the IncidentLog, tells consoles, hands the incident to the core, and answers
// the sender once the record is durable (the ack follows the commit; the
// offer does not wait for it).
//
// The sender is anything that can take a reply: a terminal session today, a
// DC-09 receiver later. Runs on the dispatcher's strand (the Dispatcher posts
// to it); the commit callbacks come from the IncidentLog's strand and post
// back. docs/architecture.md, "Ordering", says why one incident's writes stay
// in order.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string>

#include "common/dispatch/events.hpp"
#include "common/intake/alarm_triage.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "server/app/console_hub.hpp"
#include "server/app/registry_holder.hpp"
#include "server/base/clock.hpp"
#include "server/base/metrics.hpp"
#include "server/db/incident_log.hpp"

namespace huxiao {

// The answer to an alarm or a cancel request.
struct IntakeReply {
    enum class Status {
        durable,        // recorded and committed: `incident` is the one recorded
        unavailable,    // not durable yet (`message` says why); the sender retries
        unknown_alarm,  // a cancel naming an alarm the terminal never sent
    };
    Status status = Status::unavailable;
    std::string incident;
    std::string message;
};
using IntakeReplier = std::function<void(const IntakeReply&)>;

class AlarmIntake {
  public:
    // Where intake's events go: the dispatch core (on the same strand).
    using ToCore = std::function<void(const dispatch::Event&)>;

    AlarmIntake(boost::asio::any_io_executor strand, int repeat_window_s, db::IncidentLog& log,
                Metrics& metrics, const Clock& clock, ConsoleHub& consoles,
                RegistryHolder& registry, ToCore to_core);

    // On the dispatcher's strand. `reply` is called once, from any thread.
    // A cancel with an empty `alarm` (DC-09, contract §9) refers to the
    // terminal's latest alarm whose incident is open; with none, unknown_alarm.
    void alarm(const std::string& school, const std::string& terminal, terminal::Alarm alarm,
               UnixMicros received_at, IntakeReplier reply);
    void cancel(const std::string& school, const std::string& terminal, terminal::Cancel cancel,
                UnixMicros received_at, IntakeReplier reply);

    AlarmTriage& triage() { return triage_; }
    // The core closed `incident`: repeat alarms from the school open a new one.
    void incident_closed(const std::string& incident);
    // After restore(): the open count as the triage now knows it.
    void restored() { open_incidents_ = triage_.open_incidents(); }
    std::size_t open_incidents() const { return open_incidents_; }

  private:
    // What announce() and the commit callbacks need of one alarm.
    struct AlarmFacts {
        std::string school;
        std::string terminal;
        std::string alarm_id;
        std::string kind;
        bool drill = false;
        std::string note;
        UnixMicros received_at = 0;
        std::string incident;  // what triage proposed
    };
    void announce(const AlarmFacts& alarm, bool fresh);
    void resolved(const AlarmFacts& alarm, const std::string& recorded, bool recorded_now);
    void committed(const std::string& terminal, const std::string& alarm_id,
                   const std::string& proposed, const std::string& recorded);
    void publish(const std::string& school, std::string text);

    boost::asio::any_io_executor strand_;
    db::IncidentLog& log_;
    Metrics& metrics_;
    const Clock& clock_;
    ConsoleHub& consoles_;
    RegistryHolder& registry_;
    ToCore to_core_;
    AlarmTriage triage_;
    std::atomic<std::size_t> open_incidents_{0};
};

}  // namespace huxiao
