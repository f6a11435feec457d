// The dispatch core's live state: open incidents with their offers and assigned
// units, and patrol units as dispatching sees them. The same `Incident` value is
// what the shell builds at restart (directly or with replay_incident) and hands
// to DispatchCore::restore, so it carries everything needed to continue.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/registry.hpp"
#include "common/model/time_point.hpp"

namespace huxiao::dispatch {

// Incident state as pushed to the school (contract §3 `status.state`) and shown
// in the API's incident `state`.
enum class IncidentStatus {
    received,
    dispatched,
    accepted,
    en_route,
    on_scene,
    resolved,
    cancelled,
    no_unit_available,
};
std::string_view to_string(IncidentStatus s);

// Timeline event types (contract §6). The core appends the dispatch ones; the
// shell appends alarm_received, repeat_alarm and cancel_requested at intake.
enum class TimelineType {
    alarm_received,
    repeat_alarm,
    cancel_requested,
    console_acknowledged,
    offer_sent,
    offer_declined,
    offer_expired,
    unit_accepted,
    unit_en_route,
    unit_arrived,
    unit_cleared,
    no_unit_available,
    note,
    resolved,
    cancelled,
};
std::string_view to_string(TimelineType t);
std::optional<TimelineType> parse_timeline_type(std::string_view s);

// Why an offer was taken back (contract §4 `offer_withdrawn.reason`).
enum class WithdrawReason { expired, reassigned, cancelled };
std::string_view to_string(WithdrawReason r);

// An offer waiting for the unit's answer.
struct Offer {
    std::string unit;
    std::uint64_t seq = 0;  // unique per offer; names its timer
    TimePoint sent_at{};
    TimePoint deadline{};
    double eta_s = 0;
    bool directed = false;  // sent by a dispatcher (console `assign`), not by the router
};

enum class UnitProgress { accepted, en_route, on_scene, cleared };

// A unit that accepted and has not backed out. Units that leave before
// arriving (decline after accept, clear without arrival) are removed and
// recorded in Incident::passed instead, so every assignment still here either
// is working the incident or arrived and cleared.
struct Assignment {
    std::string unit;
    UnitProgress progress = UnitProgress::accepted;
    bool arrived = false;
    TimePoint accepted_at{};
    TimePoint en_route_at{};
    TimePoint arrived_at{};
    TimePoint cleared_at{};
    double eta_s = 0;  // at acceptance
};

struct Incident {
    std::string id;
    std::string school;
    std::string kind;
    bool drill = false;
    TimePoint received_at{};
    // Units this incident needs: units_required for its kind, plus one per
    // dispatcher reinforcement (console assign when every place was taken).
    int places = 1;
    bool acknowledged = false;
    std::vector<Offer> offers;            // open, in the order sent
    std::vector<Assignment> assignments;  // in the order accepted
    // Units that declined, let an offer expire or backed out: the router never
    // offers them this incident again (a dispatcher still may).
    std::vector<std::string> passed;
    // no_unit_available is recorded once per shortage; cleared when every place
    // is covered by an offer or an assignment.
    bool short_of_units = false;
    // What the school was last told, so a status is pushed only on change.
    std::optional<IncidentStatus> pushed_state;
    std::string pushed_unit;

    const Offer* offer_for(std::string_view unit) const;
    const Assignment* assignment_for(std::string_view unit) const;
    bool has_passed(std::string_view unit) const;
};

// A patrol unit as dispatching sees it.
struct UnitState {
    std::string id;
    GeoPoint position;      // last reported, else the registry's home
    bool reported = false;  // position came from the unit itself
    // Last position report, or connection (which counts as re-reporting the
    // last known position). A unit is stale unit_stale_s after this.
    TimePoint last_report{};
    bool connected = false;
    bool available = true;  // as declared by the unit (`availability`)
    bool retired = false;   // removed from the registry; kept until it is free
    std::string incident;   // the incident it holds an offer for or works on; "" when free
};

}  // namespace huxiao::dispatch
