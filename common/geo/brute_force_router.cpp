#include "common/geo/brute_force_router.hpp"

#include <algorithm>

namespace huxiao::geo {

void BruteForceRouter::set_position(std::string_view unit, GeoPoint where, TimePoint reported_at) {
    UnitTable::Slot& s = table_.slot(table_.slot_for(unit));
    s.position = where;
    s.unit_vector = to_unit_vector(where);
    s.reported_at = reported_at;
    s.has_position = true;
}

void BruteForceRouter::set_eligible(std::string_view unit, bool eligible) {
    table_.slot(table_.slot_for(unit)).eligible = eligible;
}

void BruteForceRouter::remove(std::string_view unit) {
    if (auto id = table_.find_id(unit)) table_.release(*id);
}

void BruteForceRouter::set_guard_posts(std::vector<GuardPost> posts) {
    table_.set_guard_posts(std::move(posts));
}

std::optional<RankedUnit> BruteForceRouter::estimate(std::string_view unit, GeoPoint to) const {
    const UnitTable::Slot* s = table_.find(unit);
    if (s == nullptr || !s->has_position) return std::nullopt;
    return table_.ranked(*s, to, false);
}

std::vector<RankedUnit> BruteForceRouter::rank(const RouteRequest& request) const {
    std::vector<RankedUnit> out = table_.guard_post_candidates(request);
    if (out.size() >= request.count) {
        out.resize(request.count);
        return out;
    }
    // Measure every candidate; only the winners get a RankedUnit (and a copy of
    // their name), so the scan costs what a scan must: one haversine per unit.
    struct Measured {
        double distance_m;
        UnitTable::SlotId slot;
    };
    std::vector<Measured> all;
    all.reserve(table_.slots().size());
    for (UnitTable::SlotId id = 0; id < table_.slots().size(); ++id) {
        const UnitTable::Slot& s = table_.slot(id);
        if (!table_.candidate(s, request)) continue;
        if (std::any_of(out.begin(), out.end(),
                        [&](const RankedUnit& r) { return r.unit == s.unit; })) {
            continue;
        }
        all.push_back({haversine_m(s.position, request.location), id});
    }
    const std::size_t need = std::min(request.count - out.size(), all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(need), all.end(),
                      [&](const Measured& a, const Measured& b) {
                          if (a.distance_m != b.distance_m) return a.distance_m < b.distance_m;
                          return table_.slot(a.slot).unit < table_.slot(b.slot).unit;
                      });
    for (std::size_t i = 0; i < need; ++i) {
        out.push_back(table_.ranked(table_.slot(all[i].slot), request.location, false));
    }
    return out;
}

}  // namespace huxiao::geo
