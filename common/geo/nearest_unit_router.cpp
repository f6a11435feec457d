#include "common/geo/nearest_unit_router.hpp"

#include <algorithm>
#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <limits>
#include <utility>

namespace huxiao::geo {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

namespace {

using Point3 = bg::model::point<double, 3, bg::cs::cartesian>;
using Value = std::pair<Point3, UnitTable::SlotId>;

Point3 to_point(const std::array<double, 3>& v) { return Point3{v[0], v[1], v[2]}; }

// Slack in metres when deciding that no further unit can beat the k-th best:
// the chord and haversine formulas round differently (~1e-8 m at city scale), so
// a unit whose bound is within this much is measured rather than skipped.
constexpr double kBoundSlackM = 1e-3;

}  // namespace

struct NearestUnitRouter::Index {
    bgi::rtree<Value, bgi::rstar<16>> tree;
};

NearestUnitRouter::NearestUnitRouter(RouterOptions options)
    : table_(std::move(options)), index_(std::make_unique<Index>()) {}

NearestUnitRouter::~NearestUnitRouter() = default;
NearestUnitRouter::NearestUnitRouter(NearestUnitRouter&&) noexcept = default;
NearestUnitRouter& NearestUnitRouter::operator=(NearestUnitRouter&&) noexcept = default;

std::size_t NearestUnitRouter::indexed() const { return index_->tree.size(); }

// The tree holds exactly the live, eligible units with a position. Callers
// take the slot's old point out first, change the slot, then call this.
void NearestUnitRouter::reindex(UnitTable::SlotId id) {
    const UnitTable::Slot& s = table_.slot(id);
    if (s.live && s.eligible && s.has_position) {
        index_->tree.insert(Value{to_point(s.unit_vector), id});
    }
}

void NearestUnitRouter::set_position(std::string_view unit, GeoPoint where, TimePoint reported_at) {
    const UnitTable::SlotId id = table_.slot_for(unit);
    UnitTable::Slot& s = table_.slot(id);
    const bool was_indexed = s.eligible && s.has_position;
    if (was_indexed) index_->tree.remove(Value{to_point(s.unit_vector), id});
    s.position = where;
    s.unit_vector = to_unit_vector(where);
    s.reported_at = reported_at;
    s.has_position = true;
    reindex(id);
}

void NearestUnitRouter::set_eligible(std::string_view unit, bool eligible) {
    const UnitTable::SlotId id = table_.slot_for(unit);
    UnitTable::Slot& s = table_.slot(id);
    if (s.eligible == eligible) return;
    const bool was_indexed = s.eligible && s.has_position;
    if (was_indexed) index_->tree.remove(Value{to_point(s.unit_vector), id});
    s.eligible = eligible;
    reindex(id);
}

void NearestUnitRouter::remove(std::string_view unit) {
    const std::optional<UnitTable::SlotId> id = table_.find_id(unit);
    if (!id) return;
    const UnitTable::Slot& s = table_.slot(*id);
    if (s.eligible && s.has_position) index_->tree.remove(Value{to_point(s.unit_vector), *id});
    table_.release(*id);
}

void NearestUnitRouter::set_guard_posts(std::vector<GuardPost> posts) {
    table_.set_guard_posts(std::move(posts));
}

std::optional<RankedUnit> NearestUnitRouter::estimate(std::string_view unit, GeoPoint to) const {
    const UnitTable::Slot* s = table_.find(unit);
    if (s == nullptr || !s->has_position) return std::nullopt;
    return table_.ranked(*s, to, false);
}

std::vector<RankedUnit> NearestUnitRouter::rank(const RouteRequest& request) const {
    std::vector<RankedUnit> out = table_.guard_post_candidates(request);
    if (out.size() >= request.count) {
        out.resize(request.count);
        return out;
    }
    const std::size_t need = request.count - out.size();
    const std::size_t guard_count = out.size();
    auto is_guard = [&](const std::string& unit) {
        return std::any_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(guard_count),
                           [&](const RankedUnit& r) { return r.unit == unit; });
    };
    auto usable = [&](const Value& v) {
        const UnitTable::Slot& s = table_.slot(v.second);
        return table_.candidate(s, request) && !is_guard(s.unit);
    };

    const Point3 target = to_point(to_unit_vector(request.location));
    std::vector<RankedUnit> best;  // sorted by rank_less, at most `need` kept meaningful
    best.reserve(need + 1);
    double kth = std::numeric_limits<double>::infinity();
    const auto& tree = index_->tree;
    if (tree.empty()) return out;
    // Incremental nearest-neighbour walk: units arrive by chord distance, which
    // orders them as great-circle distance does up to rounding.
    for (auto it = tree.qbegin(bgi::nearest(target, static_cast<unsigned>(tree.size())) &&
                               bgi::satisfies(usable));
         it != tree.qend(); ++it) {
        const double bound = chord_to_arc_m(bg::distance(target, it->first));
        if (best.size() >= need && bound > kth + kBoundSlackM) break;
        RankedUnit r = table_.ranked(table_.slot(it->second), request.location, false);
        best.insert(std::upper_bound(best.begin(), best.end(), r, rank_less), std::move(r));
        if (best.size() >= need) kth = best[need - 1].distance_m;
    }
    if (best.size() > need) best.resize(need);
    for (RankedUnit& r : best) out.push_back(std::move(r));
    return out;
}

}  // namespace huxiao::geo
