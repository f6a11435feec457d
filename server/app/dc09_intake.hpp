// Dc09Intake: what the DC-09 receiver does with one frame, whichever
// transport brought it (contract §9). The pure decision (dc09::receive) says
// NAK, DUH or accept; an accepted alarm or cancel goes to the alarm intake
// (Dispatcher::alarm/cancel with an IntakeReplier) like a TLS terminal's, and
// its ACK is sent only once the intake reports the commit. When the event cannot be made durable
// nothing is answered: the panel retransmits, and the retransmission (same account, sequence number
// and timestamp, hence the same alarm id) joins the same incident.
//
// Every accepted message, NULL link tests included, is a sign of life for
// supervision. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/config/config.hpp"
#include "common/model/registry_index.hpp"
#include "common/protocol/dc09.hpp"

namespace huxiao {

class Clock;
class Dispatcher;
class RegistryHolder;
struct Metrics;
namespace db {
class IncidentLog;
}

class Dc09Intake {
  public:
    // Sends one response frame back the way the message came. May be called
    // from any thread, at most once per frame.
    using Reply = std::function<void(std::string)>;

    Dc09Intake(const Config& config, Dispatcher& dispatcher, RegistryHolder& registry,
               db::IncidentLog& log, Metrics& metrics, const Clock& clock);

    // `peer` names the sender in logs. False when the frame was refused
    // (NAK or DUH, already passed to `reply`).
    bool handle(std::string_view frame, const std::string& peer, Reply reply);
    // A frame the listener dropped unanswered (over_rate, too_large), for the
    // metrics.
    void dropped(const std::string& why);

  private:
    struct Directory {
        RegistrySnapshot snapshot;
        dc09::AccountDirectory accounts;
    };
    std::shared_ptr<const Directory> directory();
    // What handle() does with an accepted message, by its meaning.
    void raise_alarm(const std::string& school, dc09::Accepted& accepted, Reply reply,
                     UnixMicros now);
    void cancel_alarm(const std::string& school, dc09::Accepted& accepted, Reply reply,
                      UnixMicros now);
    void record_event(const dc09::Accepted& accepted, UnixMicros now);

    const Config& config_;
    Dispatcher& dispatcher_;
    RegistryHolder& registry_;
    db::IncidentLog& log_;  // restores and other events (dc09_events)
    Metrics& metrics_;
    const Clock& clock_;
    UnixMicros offline_after_us_;  // 0: the supervision window of TLS terminals
    dc09::ReceiverSettings settings_;
    std::mutex mutex_;
    std::shared_ptr<const Directory> directory_;
    // Restamped or unstamped retransmissions keep their first event id.
    dc09::RetransmissionMemory retransmissions_;
};

}  // namespace huxiao
