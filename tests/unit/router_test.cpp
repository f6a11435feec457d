// Unit routing (common/geo): the ranking rule on both routers, and the indexed
// router against the brute-force reference on random data.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "common/geo/brute_force_router.hpp"
#include "common/geo/nearest_unit_router.hpp"
#include "common/util/time.hpp"

namespace huxiao::geo {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix_micros(1788222600LL * 1000000);  // Tue 08:30 Shanghai
const GeoPoint kSchool{30.5928, 114.3055};

// A point `north_m` metres north and `east_m` metres east of `p` (small offsets).
GeoPoint offset(GeoPoint p, double north_m, double east_m) {
    const double m_per_deg = kEarthRadiusM * std::numbers::pi / 180.0;
    return {p.lat + north_m / m_per_deg,
            p.lon + east_m / (m_per_deg * std::cos(p.lat * std::numbers::pi / 180.0))};
}

// Builds "P-17" without operator+(const char*, std::string&&), which trips a
// false -Wrestrict in GCC 12 at -O3.
std::string name(const char* prefix, long i) {
    std::string s = prefix;
    s += std::to_string(i);
    return s;
}

std::vector<std::string> ids(const std::vector<RankedUnit>& v) {
    std::vector<std::string> out;
    for (const RankedUnit& r : v) out.push_back(r.unit);
    return out;
}

// Injected local clock: always the given local time, whatever the zone.
LocalTimeFn fixed_local(int weekday, int minute) {
    return [=](std::string_view, TimePoint) { return std::optional<LocalTime>{{weekday, minute}}; };
}

RouterOptions options(LocalTimeFn clock = tz_local_time) {
    RouterOptions o;
    o.eta = EtaModel{1.3, 40};
    o.stale_after = seconds{120};
    o.local_time = std::move(clock);
    return o;
}

GuardPost post(std::string school, std::string unit) {
    GuardPost p;
    p.school = std::move(school);
    p.unit = std::move(unit);
    p.days = "mon-fri";
    p.weekday_mask = 0b0011111;
    p.windows = {{7 * 60, 8 * 60 + 30}};
    p.tz = "Asia/Shanghai";
    return p;
}

RouteRequest request(std::size_t count, TimePoint now = kNow) {
    RouteRequest r;
    r.school = "S-1";
    r.location = kSchool;
    r.count = count;
    r.now = now;
    return r;
}

template <typename R>
class RouterTest : public ::testing::Test {
  protected:
    std::unique_ptr<UnitRouter> make(LocalTimeFn clock = tz_local_time) {
        return std::make_unique<R>(options(std::move(clock)));
    }
    // An eligible unit reported `age` ago at `where`.
    static void add(UnitRouter& r, const std::string& id, GeoPoint where,
                    seconds age = seconds{0}) {
        r.set_position(id, where, kNow - age);
        r.set_eligible(id, true);
    }
};

using RouterTypes = ::testing::Types<NearestUnitRouter, BruteForceRouter>;
TYPED_TEST_SUITE(RouterTest, RouterTypes);

TYPED_TEST(RouterTest, EmptyRouterReturnsNothing) {
    auto r = this->make();
    EXPECT_TRUE(r->rank(request(3)).empty());
}

TYPED_TEST(RouterTest, RanksByEtaWithDistanceAndEta) {
    auto r = this->make();
    this->add(*r, "far", offset(kSchool, 3000, 0));
    this->add(*r, "near", offset(kSchool, 0, 1000));
    this->add(*r, "mid", offset(kSchool, -2000, 0));
    const auto got = r->rank(request(3));
    ASSERT_EQ(ids(got), (std::vector<std::string>{"near", "mid", "far"}));
    EXPECT_NEAR(got[0].distance_m, 1000, 0.5);
    EXPECT_NEAR(got[0].eta_s, 1000 * 1.3 / (40 / 3.6), 0.1);  // 117 s
    EXPECT_NEAR(got[2].distance_m, 3000, 0.5);
    EXPECT_FALSE(got[0].guard_post);
}

TYPED_TEST(RouterTest, ReturnsKBestAndFewerWhenFewerQualify) {
    auto r = this->make();
    for (int i = 1; i <= 6; ++i) {
        this->add(*r, name("U", i), offset(kSchool, 500.0 * i, 0));
    }
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"U1"}));
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"U1", "U2"}));
    EXPECT_EQ(r->rank(request(6)).size(), 6u);
    EXPECT_EQ(r->rank(request(10)).size(), 6u);
    EXPECT_TRUE(r->rank(request(0)).empty());
}

TYPED_TEST(RouterTest, IneligibleUnitsAreSkipped) {
    auto r = this->make();
    this->add(*r, "A", offset(kSchool, 100, 0));
    this->add(*r, "B", offset(kSchool, 900, 0));
    r->set_eligible("A", false);
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"B"}));
    r->set_eligible("A", true);
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"A", "B"}));
    // A unit with a position but never made eligible is not a candidate.
    r->set_position("C", offset(kSchool, 10, 0), kNow);
    EXPECT_EQ(ids(r->rank(request(3))), (std::vector<std::string>{"A", "B"}));
}

TYPED_TEST(RouterTest, EligibleWithoutPositionIsSkipped) {
    auto r = this->make();
    r->set_eligible("ghost", true);
    EXPECT_TRUE(r->rank(request(1)).empty());
    EXPECT_FALSE(r->estimate("ghost", kSchool).has_value());
}

TYPED_TEST(RouterTest, StaleUnitsAreSkippedUntilTheyReportAgain) {
    auto r = this->make();
    this->add(*r, "stale", offset(kSchool, 100, 0), seconds{121});
    this->add(*r, "edge", offset(kSchool, 200, 0), seconds{120});  // exactly unit_stale_s: fresh
    this->add(*r, "fresh", offset(kSchool, 900, 0), seconds{5});
    EXPECT_EQ(ids(r->rank(request(3))), (std::vector<std::string>{"edge", "fresh"}));
    // One microsecond later "edge" is stale too.
    EXPECT_EQ(ids(r->rank(request(3, kNow + Micros{1}))), (std::vector<std::string>{"fresh"}));
    r->set_position("stale", offset(kSchool, 100, 0), kNow);
    EXPECT_EQ(ids(r->rank(request(3))), (std::vector<std::string>{"stale", "edge", "fresh"}));
}

TYPED_TEST(RouterTest, ExcludedUnitsAreSkipped) {
    auto r = this->make();
    this->add(*r, "A", offset(kSchool, 100, 0));
    this->add(*r, "B", offset(kSchool, 200, 0));
    this->add(*r, "C", offset(kSchool, 300, 0));
    RouteRequest q = request(2);
    const std::set<std::string, std::less<>> declined{"A", "C"};
    q.exclude = [&](std::string_view u) { return declined.contains(u); };
    EXPECT_EQ(ids(r->rank(q)), (std::vector<std::string>{"B"}));
}

TYPED_TEST(RouterTest, MovingAUnitReordersIt) {
    auto r = this->make();
    this->add(*r, "A", offset(kSchool, 100, 0));
    this->add(*r, "B", offset(kSchool, 200, 0));
    r->set_position("A", offset(kSchool, 5000, 0), kNow);
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"B", "A"}));
    // Moving while ineligible, then becoming eligible, uses the new position.
    r->set_eligible("B", false);
    r->set_position("B", offset(kSchool, 6000, 0), kNow);
    r->set_eligible("B", true);
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"A", "B"}));
}

TYPED_TEST(RouterTest, RemovedUnitsAreGoneAndSlotsAreReused) {
    auto r = this->make();
    this->add(*r, "A", offset(kSchool, 100, 0));
    this->add(*r, "B", offset(kSchool, 200, 0));
    r->remove("A");
    r->remove("nobody");
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"B"}));
    EXPECT_FALSE(r->estimate("A", kSchool).has_value());
    this->add(*r, "C", offset(kSchool, 50, 0));
    EXPECT_EQ(ids(r->rank(request(3))), (std::vector<std::string>{"C", "B"}));
}

TYPED_TEST(RouterTest, TiesAreBrokenByUnitId) {
    auto r = this->make();
    const GeoPoint same = offset(kSchool, 700, 0);
    this->add(*r, "Z", same);
    this->add(*r, "M", same);
    this->add(*r, "A", same);
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"A", "M"}));
}

TYPED_TEST(RouterTest, EstimateIgnoresEligibilityAndFreshness) {
    auto r = this->make();
    r->set_position("A", offset(kSchool, 1000, 0), kNow - seconds{3600});
    const auto e = r->estimate("A", kSchool);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->unit, "A");
    EXPECT_NEAR(e->distance_m, 1000, 0.5);
    EXPECT_NEAR(e->eta_s, 117, 0.1);
    EXPECT_FALSE(r->estimate("nobody", kSchool).has_value());
}

TYPED_TEST(RouterTest, ActiveGuardPostComesFirst) {
    auto r = this->make(fixed_local(1, 8 * 60));  // Tuesday 08:00: window 07:00-08:30 open
    this->add(*r, "near", offset(kSchool, 100, 0));
    this->add(*r, "posted", offset(kSchool, 4000, 0));
    this->add(*r, "mid", offset(kSchool, 900, 0));
    r->set_guard_posts({post("S-1", "posted")});
    const auto got = r->rank(request(2));
    ASSERT_EQ(ids(got), (std::vector<std::string>{"posted", "near"}));
    EXPECT_TRUE(got[0].guard_post);
    EXPECT_FALSE(got[1].guard_post);
    EXPECT_NEAR(got[0].distance_m, 4000, 1);
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"posted"}));
}

TYPED_TEST(RouterTest, GuardPostOutsideItsWindowRanksByEta) {
    auto r = this->make(fixed_local(1, 9 * 60));  // Tuesday 09:00: window closed
    this->add(*r, "near", offset(kSchool, 100, 0));
    this->add(*r, "posted", offset(kSchool, 4000, 0));
    r->set_guard_posts({post("S-1", "posted")});
    const auto got = r->rank(request(2));
    EXPECT_EQ(ids(got), (std::vector<std::string>{"near", "posted"}));
    EXPECT_FALSE(got[1].guard_post);
    // Saturday at 08:00: not a listed day.
    auto sat = this->make(fixed_local(5, 8 * 60));
    this->add(*sat, "near", offset(kSchool, 100, 0));
    this->add(*sat, "posted", offset(kSchool, 4000, 0));
    sat->set_guard_posts({post("S-1", "posted")});
    EXPECT_EQ(ids(sat->rank(request(1))), (std::vector<std::string>{"near"}));
}

TYPED_TEST(RouterTest, GuardPostAtAnotherSchoolDoesNotCount) {
    auto r = this->make(fixed_local(1, 8 * 60));
    this->add(*r, "near", offset(kSchool, 100, 0));
    this->add(*r, "posted", offset(kSchool, 4000, 0));
    r->set_guard_posts({post("S-2", "posted")});
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"near"}));
}

TYPED_TEST(RouterTest, GuardPostUnitMustStillQualify) {
    auto r = this->make(fixed_local(1, 8 * 60));
    this->add(*r, "near", offset(kSchool, 100, 0));
    this->add(*r, "posted", offset(kSchool, 50, 0), seconds{600});  // stale
    r->set_guard_posts({post("S-1", "posted")});
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"near"}));
    r->set_position("posted", offset(kSchool, 50, 0), kNow);
    r->set_eligible("posted", false);  // busy elsewhere
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"near"}));
    r->set_eligible("posted", true);
    RouteRequest q = request(2);
    q.exclude = [](std::string_view u) { return u == "posted"; };  // declined this incident
    EXPECT_EQ(ids(r->rank(q)), (std::vector<std::string>{"near"}));
    EXPECT_EQ(ids(r->rank(request(2))), (std::vector<std::string>{"posted", "near"}));
}

TYPED_TEST(RouterTest, SeveralGuardPostsRankAmongThemselvesByEta) {
    auto r = this->make(fixed_local(1, 8 * 60));
    this->add(*r, "near", offset(kSchool, 10, 0));
    this->add(*r, "post-far", offset(kSchool, 3000, 0));
    this->add(*r, "post-mid", offset(kSchool, 2000, 0));
    GuardPost second_window = post("S-1", "post-far");  // posted twice: still one candidate
    second_window.windows = {{0, 1439}};
    r->set_guard_posts({post("S-1", "post-far"), post("S-1", "post-mid"), second_window});
    EXPECT_EQ(ids(r->rank(request(3))), (std::vector<std::string>{"post-mid", "post-far", "near"}));
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"post-mid"}));
}

TYPED_TEST(RouterTest, GuardPostInUnknownZoneIsNeverActive) {
    auto r = this->make();  // the default clock: the tz database
    this->add(*r, "near", offset(kSchool, 100, 0));
    this->add(*r, "posted", offset(kSchool, 4000, 0));
    GuardPost p = post("S-1", "posted");
    p.windows = {{0, 1439}};
    p.weekday_mask = 0x7F;
    p.tz = "Mars/Olympus";
    r->set_guard_posts({p});
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"near"}));
    p.tz = "Asia/Shanghai";
    r->set_guard_posts({p});
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"posted"}));
}

TYPED_TEST(RouterTest, GuardPostWindowFollowsDaylightSavingTime) {
    // New York, 2026: clocks go forward on Sunday 8 March at 07:00Z (02:00
    // EST to 03:00 EDT) and back on Sunday 1 November at 06:00Z (02:00 EDT
    // to 01:00 EST). The posted unit is preferred exactly while its window
    // is open by the local clock.
    auto r = this->make();
    GuardPost p = post("S-1", "posted");
    p.days = "sun";
    p.weekday_mask = 1U << 6;
    p.tz = "America/New_York";
    const auto posted_at = [&](const char* iso) {
        const TimePoint t = from_unix_micros(*parse_iso8601(iso));
        r->set_position("near", offset(kSchool, 100, 0), t);
        r->set_position("posted", offset(kSchool, 4000, 0), t);
        r->set_eligible("near", true);
        r->set_eligible("posted", true);
        return ids(r->rank(request(1, t))) == std::vector<std::string>{"posted"};
    };
    // 01:30-03:30 local on 8 March: 06:30Z to 07:30Z, one real hour.
    p.windows = {{90, 210}};
    r->set_guard_posts({p});
    EXPECT_FALSE(posted_at("2026-03-08T06:29:00Z"));
    EXPECT_TRUE(posted_at("2026-03-08T06:30:00Z"));
    EXPECT_TRUE(posted_at("2026-03-08T07:00:00Z"));  // 03:00 EDT
    EXPECT_TRUE(posted_at("2026-03-08T07:29:00Z"));
    EXPECT_FALSE(posted_at("2026-03-08T07:30:00Z"));
    // 01:00-02:00 local on 1 November happens twice: 05:00Z-06:00Z (EDT) and
    // 06:00Z-07:00Z (EST).
    p.windows = {{60, 120}};
    r->set_guard_posts({p});
    EXPECT_FALSE(posted_at("2026-11-01T04:59:00Z"));
    EXPECT_TRUE(posted_at("2026-11-01T05:30:00Z"));
    EXPECT_TRUE(posted_at("2026-11-01T06:30:00Z"));
    EXPECT_FALSE(posted_at("2026-11-01T07:00:00Z"));  // 02:00 EST
}

TYPED_TEST(RouterTest, GuardPostWindowUsesTheRealShanghaiClock) {
    auto r = this->make();  // the tz database, kNow = Tuesday 08:30 local
    this->add(*r, "near", offset(kSchool, 100, 0));
    this->add(*r, "posted", offset(kSchool, 4000, 0));
    r->set_guard_posts({post("S-1", "posted")});
    // 08:30 is the window's (exclusive) end; one minute earlier it is open.
    EXPECT_EQ(ids(r->rank(request(1))), (std::vector<std::string>{"near"}));
    const TimePoint earlier = kNow - std::chrono::minutes{1};
    r->set_position("near", offset(kSchool, 100, 0), earlier);
    r->set_position("posted", offset(kSchool, 4000, 0), earlier);
    EXPECT_EQ(ids(r->rank(request(1, earlier))), (std::vector<std::string>{"posted"}));
}

TYPED_TEST(RouterTest, NearestAcrossTheAntimeridianAndNearThePole) {
    auto r = this->make();
    RouteRequest q = request(2);
    q.location = {0, 179.99};
    this->add(*r, "west", {0, 179.0});
    this->add(*r, "east", {0, -179.99});  // 2.2 km away, across the date line
    EXPECT_EQ(ids(r->rank(q)), (std::vector<std::string>{"east", "west"}));
    // Near the pole a large longitude difference is a short distance.
    auto p = this->make();
    q.location = {89.99, 0};
    this->add(*p, "across", {89.99, 180});  // ~2.2 km over the pole
    this->add(*p, "south", {89.95, 0});     // ~4.4 km
    EXPECT_EQ(ids(p->rank(q)), (std::vector<std::string>{"across", "south"}));
}

// ---- the indexed router against the reference ----------------------------------

struct Fleet {
    NearestUnitRouter fast{options(fixed_local(1, 8 * 60))};
    BruteForceRouter reference{options(fixed_local(1, 8 * 60))};

    void set_position(const std::string& u, GeoPoint p, TimePoint at) {
        fast.set_position(u, p, at);
        reference.set_position(u, p, at);
    }
    void set_eligible(const std::string& u, bool e) {
        fast.set_eligible(u, e);
        reference.set_eligible(u, e);
    }
    void remove(const std::string& u) {
        fast.remove(u);
        reference.remove(u);
    }
    void set_guard_posts(const std::vector<GuardPost>& posts) {
        fast.set_guard_posts(posts);
        reference.set_guard_posts(posts);
    }
};

void expect_same(const std::vector<RankedUnit>& fast, const std::vector<RankedUnit>& reference) {
    ASSERT_EQ(ids(fast), ids(reference));
    for (std::size_t i = 0; i < fast.size(); ++i) {
        EXPECT_DOUBLE_EQ(fast[i].distance_m, reference[i].distance_m);
        EXPECT_DOUBLE_EQ(fast[i].eta_s, reference[i].eta_s);
        EXPECT_EQ(fast[i].guard_post, reference[i].guard_post);
    }
}

TEST(RouterEquivalence, RandomFleetAroundWuhanWithUpdates) {
    std::mt19937_64 rng(20260901);
    std::uniform_real_distribution<double> dlat(30.29, 30.89), dlon(114.0, 114.6);
    std::uniform_int_distribution<int> age_s(0, 200);  // some beyond unit_stale_s
    std::bernoulli_distribution coin(0.5), rare(0.1);
    Fleet f;
    const int n = 3000;
    for (int i = 0; i < n; ++i) {
        const std::string u = name("P-", i);
        f.set_position(u, {dlat(rng), dlon(rng)}, kNow - seconds{age_s(rng)});
        f.set_eligible(u, !rare(rng));
    }
    std::vector<GuardPost> posts;
    for (int s = 0; s < 20; ++s) posts.push_back(post(name("S-", s), name("P-", s * 7)));
    f.set_guard_posts(posts);
    std::uniform_int_distribution<int> pick(0, n - 1), k(1, 6), school(0, 29);
    for (int round = 0; round < 2000; ++round) {
        // Churn: moves, eligibility flips, removals and re-additions.
        const std::string u = name("P-", pick(rng));
        if (rare(rng)) {
            f.remove(u);
        } else if (coin(rng)) {
            f.set_position(u, {dlat(rng), dlon(rng)}, kNow - seconds{age_s(rng)});
            f.set_eligible(u, true);
        } else {
            f.set_eligible(u, coin(rng));
        }
        RouteRequest q;
        q.school = name("S-", school(rng));
        q.location = {dlat(rng), dlon(rng)};
        q.count = static_cast<std::size_t>(k(rng));
        q.now = kNow;
        std::set<std::string, std::less<>> excluded;
        for (int e = 0; e < 5; ++e) excluded.insert(name("P-", pick(rng)));
        q.exclude = [&](std::string_view x) { return excluded.contains(x); };
        SCOPED_TRACE(name("round ", round));
        expect_same(f.fast.rank(q), f.reference.rank(q));
    }
    EXPECT_GT(f.fast.indexed(), 0u);
}

TEST(RouterEquivalence, RandomPointsOnTheWholeGlobe) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> dlat(-90, 90), dlon(-180, 180);
    Fleet f;
    for (int i = 0; i < 2000; ++i) {
        const std::string u = name("G-", i);
        f.set_position(u, {dlat(rng), dlon(rng)}, kNow);
        f.set_eligible(u, true);
    }
    for (int round = 0; round < 500; ++round) {
        RouteRequest q;
        q.location = {dlat(rng), dlon(rng)};
        q.count = 1 + static_cast<std::size_t>(round % 8);
        q.now = kNow;
        expect_same(f.fast.rank(q), f.reference.rank(q));
    }
}

TEST(RouterEquivalence, ClusteredUnitsWithManyTies) {
    // Units on a coarse grid: many exactly equal distances, decided by id.
    Fleet f;
    int i = 0;
    for (int a = -5; a <= 5; ++a) {
        for (int b = -5; b <= 5; ++b) {
            for (int copy = 0; copy < 3; ++copy) {
                const std::string u = name("T-", i++);
                f.set_position(u, offset(kSchool, a * 100.0, b * 100.0), kNow);
                f.set_eligible(u, true);
            }
        }
    }
    for (int k = 1; k <= 40; ++k) {
        RouteRequest q = request(static_cast<std::size_t>(k));
        expect_same(f.fast.rank(q), f.reference.rank(q));
    }
}

}  // namespace
}  // namespace huxiao::geo
