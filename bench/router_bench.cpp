// Router micro-benchmark (issue 3): the best unit for a school among 10,000
// units scattered around Wuhan (30.59N 114.30E, +-0.3 deg), NearestUnitRouter
// (rtree) next to BruteForceRouter (linear scan) in the same run. Target: the
// indexed router at least 50x faster. Also k = 2 (assault, intrusion), a query
// with units to skip, and the cost of a position update (what every AVL report
// costs the dispatcher).
#include <benchmark/benchmark.h>

#include <array>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/geo/brute_force_router.hpp"
#include "common/geo/nearest_unit_router.hpp"
#include "common/geo/unit_table.hpp"

namespace {

using namespace huxiao;
using namespace huxiao::geo;

const TimePoint kNow = from_unix_micros(1788222600LL * 1000000);
constexpr double kLat = 30.59, kLon = 114.30, kSpread = 0.3;

std::string unit_name(int i) {
    std::string s = "P-";
    s += std::to_string(i);
    return s;
}

template <typename Router>
Router& fleet(int units) {
    static Router router = [&] {
        Router r{RouterOptions{}};
        std::mt19937_64 rng(1);
        std::uniform_real_distribution<double> lat(kLat - kSpread, kLat + kSpread);
        std::uniform_real_distribution<double> lon(kLon - kSpread, kLon + kSpread);
        for (int i = 0; i < units; ++i) {
            r.set_position(unit_name(i), {lat(rng), lon(rng)}, kNow);
            r.set_eligible(unit_name(i), true);
        }
        return r;
    }();
    return router;
}

std::vector<GeoPoint> schools() {
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<double> lat(kLat - kSpread, kLat + kSpread);
    std::uniform_real_distribution<double> lon(kLon - kSpread, kLon + kSpread);
    std::vector<GeoPoint> v(1024);
    for (GeoPoint& p : v) p = {lat(rng), lon(rng)};
    return v;
}

template <typename Router>
void best_units(benchmark::State& state) {
    const UnitRouter& router = fleet<Router>(10000);
    const std::vector<GeoPoint> points = schools();
    const auto count = static_cast<std::size_t>(state.range(0));
    const bool with_skips = state.range(1) != 0;
    // Five units that declined, the way the core passes its exclusions.
    const std::set<std::string, std::less<>> declined{unit_name(1), unit_name(2), unit_name(3),
                                                      unit_name(4), unit_name(5)};
    RouteRequest q;
    q.school = "S-1";
    q.count = count;
    q.now = kNow;
    if (with_skips) q.exclude = [&](std::string_view u) { return declined.contains(u); };
    std::size_t i = 0;
    for (auto _ : state) {
        q.location = points[i++ % points.size()];
        auto ranked = router.rank(q);
        benchmark::DoNotOptimize(ranked.data());
    }
    state.SetItemsProcessed(state.iterations());
}

// Not a router: the cheapest scan conceivable (a dot product per unit with unit
// vectors computed in advance, no eligibility, freshness or exclusion checks).
// Shown so the speed-up is not judged only against the haversine scan.
void raw_scan_lower_bound(benchmark::State& state) {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> lat(kLat - kSpread, kLat + kSpread);
    std::uniform_real_distribution<double> lon(kLon - kSpread, kLon + kSpread);
    std::vector<std::array<double, 3>> units(10000);
    for (auto& u : units) u = to_unit_vector({lat(rng), lon(rng)});
    const std::vector<GeoPoint> points = schools();
    std::size_t i = 0;
    for (auto _ : state) {
        const auto q = to_unit_vector(points[i++ % points.size()]);
        std::size_t best = 0;
        double best_dot = -2;
        for (std::size_t j = 0; j < units.size(); ++j) {
            const double dot = units[j][0] * q[0] + units[j][1] * q[1] + units[j][2] * q[2];
            if (dot > best_dot) {
                best_dot = dot;
                best = j;
            }
        }
        benchmark::DoNotOptimize(best);
    }
    state.SetItemsProcessed(state.iterations());
}

void position_update(benchmark::State& state) {
    NearestUnitRouter& router = fleet<NearestUnitRouter>(10000);
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> step(-0.0005, 0.0005);
    std::uniform_int_distribution<int> pick(0, 9999);
    std::vector<std::string> names;
    for (int i = 0; i < 10000; ++i) names.push_back(unit_name(i));
    for (auto _ : state) {
        const std::string& u = names[static_cast<std::size_t>(pick(rng))];
        const GeoPoint p{kLat + step(rng) * 600, kLon + step(rng) * 600};
        router.set_position(u, p, kNow);
    }
}

// Args: {units wanted, with five declined units to skip}
BENCHMARK(best_units<NearestUnitRouter>)->Args({1, 0})->Args({2, 0})->Args({1, 1});
BENCHMARK(best_units<BruteForceRouter>)->Args({1, 0})->Args({2, 0})->Args({1, 1});
BENCHMARK(raw_scan_lower_bound);
BENCHMARK(position_update);

}  // namespace

BENCHMARK_MAIN();
