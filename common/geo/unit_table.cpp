#include "common/geo/unit_table.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace huxiao::geo {

std::array<double, 3> to_unit_vector(GeoPoint p) {
    constexpr double kRadPerDeg = std::numbers::pi / 180.0;
    const double lat = p.lat * kRadPerDeg;
    const double lon = p.lon * kRadPerDeg;
    return {std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat)};
}

double chord_to_arc_m(double chord) {
    return 2 * kEarthRadiusM * std::asin(std::clamp(chord / 2, 0.0, 1.0));
}

bool rank_less(const RankedUnit& a, const RankedUnit& b) {
    if (a.distance_m != b.distance_m) return a.distance_m < b.distance_m;
    return a.unit < b.unit;
}

UnitTable::SlotId UnitTable::slot_for(std::string_view unit) {
    if (auto id = find_id(unit)) return *id;
    SlotId id = 0;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
        slots_[id] = Slot{};
    } else {
        id = static_cast<SlotId>(slots_.size());
        slots_.emplace_back();
    }
    slots_[id].unit = std::string(unit);
    slots_[id].live = true;
    index_.emplace(std::string(unit), id);
    return id;
}

std::optional<UnitTable::SlotId> UnitTable::find_id(std::string_view unit) const {
    // std::string key: unordered heterogeneous lookup would need a custom hash; ids are short.
    auto it = index_.find(std::string(unit));
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

const UnitTable::Slot* UnitTable::find(std::string_view unit) const {
    auto id = find_id(unit);
    return id ? &slots_[*id] : nullptr;
}

void UnitTable::release(SlotId id) {
    index_.erase(slots_[id].unit);
    slots_[id] = Slot{};
    free_.push_back(id);
}

bool UnitTable::candidate(const Slot& s, const RouteRequest& request) const {
    return s.live && s.eligible && fresh(s, request.now) &&
           !(request.exclude && request.exclude(s.unit));
}

void UnitTable::set_guard_posts(std::vector<GuardPost> posts) {
    posts_by_school_.clear();
    for (GuardPost& p : posts) {
        std::string school = p.school;
        posts_by_school_.emplace(std::move(school), std::move(p));
    }
}

RankedUnit UnitTable::ranked(const Slot& s, GeoPoint to, bool guard_post) const {
    const double d = haversine_m(s.position, to);
    return RankedUnit{s.unit, d, options_.eta.eta_s(d), guard_post};
}

std::vector<RankedUnit> UnitTable::guard_post_candidates(const RouteRequest& request) const {
    std::vector<RankedUnit> out;
    auto [first, last] = posts_by_school_.equal_range(request.school);
    for (auto it = first; it != last; ++it) {
        const GuardPost& post = it->second;
        const Slot* s = find(post.unit);
        if (s == nullptr || !candidate(*s, request)) continue;
        // A unit posted twice at the same school is still one candidate.
        if (std::any_of(out.begin(), out.end(),
                        [&](const RankedUnit& r) { return r.unit == s->unit; })) {
            continue;
        }
        const std::optional<LocalTime> local =
            options_.local_time ? options_.local_time(post.tz, request.now) : std::nullopt;
        if (!local || !guard_post_active(post, *local)) continue;
        out.push_back(ranked(*s, request.location, true));
    }
    std::sort(out.begin(), out.end(), rank_less);
    return out;
}

}  // namespace huxiao::geo
