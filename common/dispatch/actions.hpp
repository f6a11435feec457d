// Outputs of the dispatch core: what the shell must do, in the order given.
// None of them waits for anything; in particular AppendTimeline is queued to the
// IncidentLog and never delays the SendToUnit that follows it.
#pragma once

#include <compare>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "common/dispatch/incident.hpp"
#include "common/model/registry.hpp"
#include "common/model/time_point.hpp"

namespace huxiao::dispatch {

// The /ws/unit server messages of contract §4, as values; the wire shape is
// common/protocol/unit_protocol's business (unit_protocol::encode).
struct OfferMessage {
    std::string incident;
    std::string kind;
    bool drill = false;
    std::string school;
    // Name and location are sent when the registry knows the school.
    std::optional<std::string> school_name;
    std::optional<GeoPoint> school_location;
    int eta_s = 0;
    int expires_in_s = 0;
};
struct OfferWithdrawnMessage {
    std::string incident;
    WithdrawReason reason = WithdrawReason::expired;
};
struct IncidentClosedMessage {
    std::string incident;
};
using UnitMessage = std::variant<OfferMessage, OfferWithdrawnMessage, IncidentClosedMessage>;

// A message to a unit. Dropped by the shell when the unit has no session.
struct SendToUnit {
    std::string unit;
    UnitMessage message;
};

// A `status` frame for every terminal of the school (contract §3). `unit` is
// empty and `eta_s` absent when they do not apply.
struct PushStatus {
    std::string school;
    std::string incident;
    IncidentStatus state = IncidentStatus::received;
    std::string unit;
    std::optional<int> eta_s;
    TimePoint at{};
};

// One timeline event (contract §6), also published to consoles. It names the
// incident's school and district (taken when appended, so they are there even
// when the same step closes and forgets the incident): consoles are chosen by
// district.
struct AppendTimeline {
    std::string incident;
    TimePoint at{};
    TimelineType type = TimelineType::note;
    std::string actor;  // unit id, token name or "system"
    std::string unit;   // "" when none
    nlohmann::json details = nlohmann::json::object();
    std::string school;
    std::string district;  // "" when the school is not in the registry
    bool drill = false;
};

// Names an offer's timer. `seq` alone is unique; incident and unit come back
// in OfferTimerFired so the shell need not remember them.
struct OfferTimerKey {
    std::string incident;
    std::string unit;
    std::uint64_t seq = 0;

    friend auto operator<=>(const OfferTimerKey&, const OfferTimerKey&) = default;
};

// Arm a timer; at `deadline` feed OfferTimerFired{key...}. A deadline in the
// past (restored offers) should fire at once.
struct StartTimer {
    OfferTimerKey key;
    TimePoint deadline{};
};
// Disarm; unknown or already fired keys are ignored.
struct CancelTimer {
    OfferTimerKey key;
};

enum class Peer { unit, console };

// Error reply to the message being handled: to the unit `unit`, or to the
// console that sent the command (the shell answers `ok` when a console command
// produced no ReplyError). `ref` is the incident concerned, when there is one.
struct ReplyError {
    Peer to = Peer::unit;
    std::string unit;
    std::string code;
    std::string message;
    std::string ref;
};

// The incident ended (resolved or cancelled); the core has forgotten it.
struct IncidentClosed {
    std::string incident;
    IncidentStatus final_state = IncidentStatus::resolved;
    std::string school;
    std::string district;  // "" when the school is not in the registry
};

using Action = std::variant<SendToUnit, PushStatus, AppendTimeline, StartTimer, CancelTimer,
                            ReplyError, IncidentClosed>;

}  // namespace huxiao::dispatch
