// Great-circle distance, ETA and guard-post windows (common/geo).
#include "common/geo/geo.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "common/geo/guard_post.hpp"

namespace huxiao::geo {
namespace {

constexpr double kMetresPerDegree = std::numbers::pi * kEarthRadiusM / 180.0;  // 111 195.08 m

// Spherical law of cosines: an independent formula, accurate at long distances.
double law_of_cosines_m(GeoPoint a, GeoPoint b) {
    const double r = std::numbers::pi / 180.0;
    const double c = std::sin(a.lat * r) * std::sin(b.lat * r) +
                     std::cos(a.lat * r) * std::cos(b.lat * r) * std::cos((b.lon - a.lon) * r);
    return kEarthRadiusM * std::acos(std::clamp(c, -1.0, 1.0));
}

TEST(Haversine, ZeroForTheSamePoint) {
    EXPECT_DOUBLE_EQ(haversine_m({30.59, 114.30}, {30.59, 114.30}), 0.0);
}

TEST(Haversine, OneDegreeAlongAMeridianAndTheEquator) {
    EXPECT_NEAR(haversine_m({0, 0}, {1, 0}), kMetresPerDegree, 1e-6);
    EXPECT_NEAR(haversine_m({0, 0}, {0, 1}), kMetresPerDegree, 1e-6);
    EXPECT_NEAR(haversine_m({30, 114}, {31, 114}), kMetresPerDegree, 1e-6);
}

TEST(Haversine, LongitudeShrinksWithLatitude) {
    // One degree of longitude at 60N is half of one at the equator (on a sphere).
    EXPECT_NEAR(haversine_m({60, 10}, {60, 11}), kMetresPerDegree * 0.5, 10.0);
}

TEST(Haversine, KnownCityDistances) {
    // Wuhan (Jianghan) to Shanghai (People's Square): 687.39 km on this sphere.
    EXPECT_NEAR(haversine_m({30.5928, 114.3055}, {31.2304, 121.4737}), 687394.5, 1.0);
    // The contract's example unit P-12 to school S-1: about 1.5 km.
    EXPECT_NEAR(haversine_m({30.59, 114.29}, {30.5928, 114.3055}), 1515.96, 0.01);
}

TEST(Haversine, AntipodesAreHalfACircumference) {
    EXPECT_NEAR(haversine_m({0, 0}, {0, 180}), std::numbers::pi * kEarthRadiusM, 1e-6);
    EXPECT_NEAR(haversine_m({90, 0}, {-90, 0}), std::numbers::pi * kEarthRadiusM, 1e-6);
}

TEST(Haversine, AcrossTheAntimeridian) {
    EXPECT_NEAR(haversine_m({0, 179.5}, {0, -179.5}), kMetresPerDegree, 1e-6);
}

TEST(Haversine, SymmetricAndAgreesWithLawOfCosines) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> lat(-89, 89), lon(-180, 180);
    for (int i = 0; i < 1000; ++i) {
        const GeoPoint a{lat(rng), lon(rng)}, b{lat(rng), lon(rng)};
        const double d = haversine_m(a, b);
        EXPECT_DOUBLE_EQ(d, haversine_m(b, a));
        EXPECT_NEAR(d, law_of_cosines_m(a, b), 1e-3);
    }
}

TEST(Eta, DistanceTimesRoadFactorOverSpeed) {
    const EtaModel m{1.3, 40};
    // 1 km x 1.3 at 40 km/h = 1.3 km / (11.11 m/s) = 117 s.
    EXPECT_NEAR(m.eta_s(1000), 117.0, 1e-9);
    EXPECT_DOUBLE_EQ(m.eta_s(0), 0.0);
    EXPECT_NEAR((EtaModel{1.0, 36}.eta_s(1000)), 100.0, 1e-9);
}

TEST(Eta, DefaultsAreTheContractDefaults) {
    const EtaModel m;
    EXPECT_DOUBLE_EQ(m.road_factor, 1.3);
    EXPECT_DOUBLE_EQ(m.speed_kmh, 40);
}

TEST(GeoPointValidity, RangesAndNonFinite) {
    EXPECT_TRUE(is_valid({30.59, 114.30}));
    EXPECT_TRUE(is_valid({-90, -180}));
    EXPECT_TRUE(is_valid({90, 180}));
    EXPECT_FALSE(is_valid({90.01, 0}));
    EXPECT_FALSE(is_valid({0, -180.5}));
    EXPECT_FALSE(is_valid({std::nan(""), 0}));
    EXPECT_FALSE(is_valid({0, INFINITY}));
}

// 2026-09-01 is a Tuesday; 00:30Z is 08:30 in Shanghai.
const TimePoint kTue0030Z = from_unix_micros(1788222600LL * 1000000);

TEST(LocalTime, ShanghaiFromTheTzDatabase) {
    const auto t = tz_local_time("Asia/Shanghai", kTue0030Z);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->weekday, 1);  // Tuesday
    EXPECT_EQ(t->minute_of_day, 8 * 60 + 30);
}

TEST(LocalTime, OffsetCrossesTheDateLine) {
    // 20:00Z Tuesday is 04:00 Wednesday in Shanghai.
    const TimePoint t = kTue0030Z + std::chrono::hours{19} + std::chrono::minutes{30};
    const auto local = tz_local_time("Asia/Shanghai", t);
    ASSERT_TRUE(local.has_value());
    EXPECT_EQ(local->weekday, 2);
    EXPECT_EQ(local->minute_of_day, 4 * 60);
    // And UTC stays on Tuesday.
    const auto utc = tz_local_time("UTC", t);
    ASSERT_TRUE(utc.has_value());
    EXPECT_EQ(utc->weekday, 1);
    EXPECT_EQ(utc->minute_of_day, 20 * 60);
}

TEST(LocalTime, SecondsDoNotRoundUp) {
    const TimePoint t = kTue0030Z + std::chrono::seconds{59} + Micros{999999};
    EXPECT_EQ(tz_local_time("Asia/Shanghai", t)->minute_of_day, 8 * 60 + 30);
}

TEST(LocalTime, ZonesComeFromTheTzDatabaseWithDaylightSaving) {
    // Berlin: UTC+2 in September (CEST), UTC+1 in January (CET).
    const auto summer = tz_local_time("Europe/Berlin", kTue0030Z);
    ASSERT_TRUE(summer.has_value());
    EXPECT_EQ(summer->minute_of_day, 2 * 60 + 30);
    const TimePoint winter = kTue0030Z - std::chrono::days{7 * 34};  // a Tuesday in January
    const auto w = tz_local_time("Europe/Berlin", winter);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->weekday, 1);
    EXPECT_EQ(w->minute_of_day, 1 * 60 + 30);
    EXPECT_EQ(tz_local_time("Asia/Urumqi", kTue0030Z)->minute_of_day, 6 * 60 + 30);  // UTC+6
    EXPECT_FALSE(tz_local_time("Mars/Olympus", kTue0030Z).has_value());
}

TEST(LocalTime, Epoch1970WasAThursday) {
    const LocalTime t = local_time_at_offset(TimePoint{}, 0);
    EXPECT_EQ(t.weekday, 3);
    EXPECT_EQ(t.minute_of_day, 0);
    // Before the epoch floors towards the past: 1969-12-31 23:59 Wednesday.
    const LocalTime before = local_time_at_offset(TimePoint{} - Micros{1}, 0);
    EXPECT_EQ(before.weekday, 2);
    EXPECT_EQ(before.minute_of_day, 1439);
}

GuardPost school_run() {
    GuardPost p;
    p.school = "S-1";
    p.unit = "P-12";
    p.days = "mon-fri";
    p.weekday_mask = 0b0011111;
    p.windows = {{7 * 60, 8 * 60 + 30}, {16 * 60 + 30, 18 * 60}};
    p.tz = "Asia/Shanghai";
    return p;
}

TEST(GuardPostWindow, InsideAndAtTheEdges) {
    const GuardPost p = school_run();
    EXPECT_TRUE(guard_post_active(p, {0, 7 * 60}));        // Monday 07:00, begin inclusive
    EXPECT_TRUE(guard_post_active(p, {4, 8 * 60 + 29}));   // Friday 08:29
    EXPECT_FALSE(guard_post_active(p, {4, 8 * 60 + 30}));  // end exclusive
    EXPECT_FALSE(guard_post_active(p, {2, 6 * 60 + 59}));
    EXPECT_FALSE(guard_post_active(p, {2, 12 * 60}));  // between the windows
    EXPECT_TRUE(guard_post_active(p, {2, 17 * 60}));   // second window
}

TEST(GuardPostWindow, OnlyOnListedDays) {
    const GuardPost p = school_run();
    EXPECT_FALSE(guard_post_active(p, {5, 7 * 60 + 30}));  // Saturday
    EXPECT_FALSE(guard_post_active(p, {6, 7 * 60 + 30}));  // Sunday
}

TEST(GuardPostWindow, NightWindowBelongsToTheDayItStarts) {
    GuardPost p = school_run();
    p.weekday_mask = 0b0000001;  // Monday only
    p.windows = {{22 * 60, 6 * 60}};
    EXPECT_TRUE(guard_post_active(p, {0, 23 * 60}));      // Monday 23:00
    EXPECT_TRUE(guard_post_active(p, {1, 5 * 60 + 59}));  // Tuesday 05:59
    EXPECT_FALSE(guard_post_active(p, {1, 6 * 60}));      // Tuesday 06:00
    EXPECT_FALSE(guard_post_active(p, {1, 23 * 60}));     // Tuesday night: not listed
    EXPECT_FALSE(guard_post_active(p, {0, 5 * 60}));      // Monday 05:00 is Sunday's night
    p.weekday_mask = 0b1000000;                           // Sunday only
    EXPECT_TRUE(guard_post_active(p, {0, 5 * 60}));       // wraps Sunday -> Monday
}

TEST(GuardPostWindow, NoWindowsNeverActive) {
    GuardPost p = school_run();
    p.windows.clear();
    EXPECT_FALSE(guard_post_active(p, {0, 7 * 60 + 30}));
}

TEST(GuardPostWindow, WithTheTzDatabaseClock) {
    const GuardPost p = school_run();
    // Tuesday 08:30 local: just ended. One minute earlier: active.
    EXPECT_FALSE(guard_post_active(p, *tz_local_time(p.tz, kTue0030Z)));
    EXPECT_TRUE(guard_post_active(p, *tz_local_time(p.tz, kTue0030Z - std::chrono::minutes{1})));
}

}  // namespace
}  // namespace huxiao::geo
