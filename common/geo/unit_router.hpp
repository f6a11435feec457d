// UnitRouter answers the dispatcher's one routing question: which units should
// be offered this school's incident, best first. It is an interface so that a
// road-network router (real travel times) can replace the great-circle estimate
// without touching the dispatch core.
//
// The ranking rule every implementation keeps:
//   1. units posted at the school by an active guard-post window, by ETA;
//   2. then every other unit, by ETA;
// ties by unit id, so results are deterministic. A unit is a candidate only
// while it is eligible (the core says: connected, in service, not busy), fresh
// (its last position report is at most `stale_after` old) and not excluded by
// the request (units that declined or let an offer lapse for this incident).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/geo/geo.hpp"
#include "common/geo/guard_post.hpp"
#include "common/model/registry.hpp"
#include "common/model/time_point.hpp"

namespace huxiao::geo {

struct RouterOptions {
    EtaModel eta;
    // A unit whose last report is older than this is not routable (dispatch.unit_stale_s).
    std::chrono::seconds stale_after{120};
    LocalTimeFn local_time = tz_local_time;
};

struct RankedUnit {
    std::string unit;
    double distance_m = 0;  // great-circle
    double eta_s = 0;
    bool guard_post = false;  // ranked first by an active guard post at the school

    friend bool operator==(const RankedUnit&, const RankedUnit&) = default;
};

struct RouteRequest {
    std::string school;  // registry id, to find guard posts
    GeoPoint location;   // where the units must go
    std::size_t count = 1;
    TimePoint now;  // for staleness and guard-post windows
    // Units to leave out (empty function: none).
    std::function<bool(std::string_view unit)> exclude;
};

class UnitRouter {
  public:
    virtual ~UnitRouter() = default;

    // Position of a unit and the time it was reported; staleness counts from
    // `reported_at`. Creates the unit when it is new.
    virtual void set_position(std::string_view unit, GeoPoint where, TimePoint reported_at) = 0;
    // Whether the unit may take new work. New units are not eligible.
    virtual void set_eligible(std::string_view unit, bool eligible) = 0;
    virtual void remove(std::string_view unit) = 0;
    // Replaces all guard posts (registry snapshot changes).
    virtual void set_guard_posts(std::vector<GuardPost> posts) = 0;

    // Up to `count` candidates in ranking order; fewer when fewer qualify.
    virtual std::vector<RankedUnit> rank(const RouteRequest& request) const = 0;
    // Distance and ETA of one unit to `to`, whatever its eligibility or
    // freshness (a dispatcher's manual assignment, the ETA in status pushes).
    // nullopt for an unknown unit.
    virtual std::optional<RankedUnit> estimate(std::string_view unit, GeoPoint to) const = 0;
};

}  // namespace huxiao::geo
