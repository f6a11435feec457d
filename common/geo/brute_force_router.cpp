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
    std::vector<RankedUnit> rest;
    for (const UnitTable::Slot& s : table_.slots()) {
        if (!table_.candidate(s, request)) continue;
        if (std::any_of(out.begin(), out.end(),
                        [&](const RankedUnit& r) { return r.unit == s.unit; })) {
            continue;
        }
        rest.push_back(table_.ranked(s, request.location, false));
    }
    const std::size_t need = std::min(request.count - out.size(), rest.size());
    std::partial_sort(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(need), rest.end(),
                      rank_less);
    out.insert(out.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(need));
    return out;
}

}  // namespace huxiao::geo
