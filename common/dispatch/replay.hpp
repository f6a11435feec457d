// Rebuilds an open incident's dispatch state from its timeline (contract §6),
// as the shell reads it back from PostgreSQL at start-up, for
// DispatchCore::restore. The timeline is the only durable record of offers
// and assignments, so the core writes into `details` what replay needs (offer
// seq and expires_in_s, reinforcement, withdrawn units, after_accept, arrived)
// and replay applies the same rules the core applied live. Events lost in the
// crash (appended but not yet committed) are simply not replayed.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/dispatch/core_config.hpp"
#include "common/dispatch/incident.hpp"
#include "common/model/time_point.hpp"

namespace huxiao::dispatch {

// Timeline types replay_incident passes over: they carry nothing dispatch
// rebuilds, so recovery need not read them back (an open incident's repeat
// alarms are most of its rows). A unit test holds replay to this list.
inline constexpr std::array<std::string_view, 4> kTypesReplayPassesOver{
    "alarm_received", "repeat_alarm", "cancel_requested", "note"};

// One timeline row as stored.
struct TimelineRecord {
    TimePoint at{};
    std::string type;
    std::string actor;
    std::string unit;
    nlohmann::json details = nlohmann::json::object();
};

// The incident row's own fields.
struct IncidentHeader {
    std::string id;
    std::string school;
    std::string kind;
    bool drill = false;
    TimePoint received_at{};
};

// The incident as the core held it after the last recorded event, or nullopt
// when the timeline shows it resolved or cancelled. `timeline` must be in the
// order it was appended. Unknown event types are skipped.
std::optional<Incident> replay_incident(const IncidentHeader& header,
                                        std::span<const TimelineRecord> timeline,
                                        const CoreConfig& config);

}  // namespace huxiao::dispatch
