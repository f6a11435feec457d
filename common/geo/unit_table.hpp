// Bookkeeping shared by the UnitRouter implementations: unit positions, report
// times, eligibility and guard posts, kept in dense slots so that a linear scan
// is cache-friendly and an index can refer to units by slot number. It also
// applies the ranking rule's first tier (guard posts) so that every router
// agrees on it; routers differ only in how they find the nearest of the rest.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/geo/unit_router.hpp"

namespace huxiao::geo {

class UnitTable {
  public:
    using SlotId = std::uint32_t;

    struct Slot {
        std::string unit;
        GeoPoint position;
        std::array<double, 3> unit_vector{};  // position on the unit sphere (x, y, z)
        TimePoint reported_at{};
        bool has_position = false;
        bool eligible = false;
        bool live = false;  // false once removed; the slot is reused later
    };

    explicit UnitTable(RouterOptions options) : options_(std::move(options)) {}

    const RouterOptions& options() const { return options_; }

    // Finds or creates the unit's slot.
    SlotId slot_for(std::string_view unit);
    const Slot* find(std::string_view unit) const;
    std::optional<SlotId> find_id(std::string_view unit) const;
    const Slot& slot(SlotId id) const { return slots_[id]; }
    Slot& slot(SlotId id) { return slots_[id]; }
    const std::vector<Slot>& slots() const { return slots_; }
    void release(SlotId id);

    bool fresh(const Slot& s, TimePoint now) const {
        return s.has_position && now - s.reported_at <= options_.stale_after;
    }
    // Eligible, fresh and not excluded by the request.
    bool candidate(const Slot& s, const RouteRequest& request) const;

    void set_guard_posts(std::vector<GuardPost> posts);
    // Tier 1 of the ranking: candidates posted at the request's school by an
    // active window, sorted by (distance, unit id), not truncated.
    std::vector<RankedUnit> guard_post_candidates(const RouteRequest& request) const;

    RankedUnit ranked(const Slot& s, GeoPoint to, bool guard_post) const;

  private:
    RouterOptions options_;
    std::vector<Slot> slots_;
    std::vector<SlotId> free_;
    std::unordered_map<std::string, SlotId> index_;
    std::unordered_multimap<std::string, GuardPost> posts_by_school_;
};

// Orders by distance, then unit id (the ranking's tie-break).
bool rank_less(const RankedUnit& a, const RankedUnit& b);

// Point on the unit sphere for a lat/lon. The straight-line (chord) distance
// between two such points grows monotonically with their great-circle distance,
// which is what lets a Cartesian index answer great-circle nearest queries.
std::array<double, 3> to_unit_vector(GeoPoint p);
// Great-circle distance in metres for a chord length on the unit sphere.
double chord_to_arc_m(double chord);

}  // namespace huxiao::geo
