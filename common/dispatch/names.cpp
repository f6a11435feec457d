// String forms of the dispatch enums, as they appear on the wire and in the database.
#include <array>

#include "common/dispatch/incident.hpp"

namespace huxiao::dispatch {

namespace {

constexpr std::array<std::string_view, 8> kStatusNames{
    "received", "dispatched", "accepted",  "en_route",
    "on_scene", "resolved",   "cancelled", "no_unit_available",
};

constexpr std::array<std::string_view, 15> kTimelineNames{
    "alarm_received", "repeat_alarm",   "cancel_requested", "console_acknowledged",
    "offer_sent",     "offer_declined", "offer_expired",    "unit_accepted",
    "unit_en_route",  "unit_arrived",   "unit_cleared",     "no_unit_available",
    "note",           "resolved",       "cancelled",
};

constexpr std::array<std::string_view, 3> kWithdrawNames{"expired", "reassigned", "cancelled"};

}  // namespace

std::string_view to_string(IncidentStatus s) {
    return kStatusNames.at(static_cast<std::size_t>(s));
}

std::string_view to_string(TimelineType t) {
    return kTimelineNames.at(static_cast<std::size_t>(t));
}

std::optional<TimelineType> parse_timeline_type(std::string_view s) {
    for (std::size_t i = 0; i < kTimelineNames.size(); ++i) {
        if (kTimelineNames[i] == s) return static_cast<TimelineType>(i);
    }
    return std::nullopt;
}

std::string_view to_string(WithdrawReason r) {
    return kWithdrawNames.at(static_cast<std::size_t>(r));
}

const Offer* Incident::offer_for(std::string_view unit) const {
    for (const Offer& o : offers) {
        if (o.unit == unit) return &o;
    }
    return nullptr;
}

const Assignment* Incident::assignment_for(std::string_view unit) const {
    for (const Assignment& a : assignments) {
        if (a.unit == unit) return &a;
    }
    return nullptr;
}

bool Incident::has_passed(std::string_view unit) const {
    for (const std::string& u : passed) {
        if (u == unit) return true;
    }
    return false;
}

}  // namespace huxiao::dispatch
