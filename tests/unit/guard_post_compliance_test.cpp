// Guard-post compliance (common/supervision): scheduled and present minutes
// per local day, held positions and missed windows, from known samples.
#include "common/supervision/guard_post_compliance.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "common/geo/geo.hpp"
#include "common/model/registry_import.hpp"

namespace huxiao::supervision {
namespace {

using namespace std::chrono;
using std::chrono::days;

constexpr int kShanghai = 480;  // UTC+8, to write the expected instants
const GeoPoint kSchool{30.5928, 114.3055};
// About 1 km north of the school, and just inside / outside 200 m.
constexpr double kMetresPerDegreeLat = 111194.93;  // great circle, mean Earth radius
const GeoPoint kAway{30.5928 + 1000 / kMetresPerDegreeLat, 114.3055};
const GeoPoint kAt199m{30.5928 + 199 / kMetresPerDegreeLat, 114.3055};
const GeoPoint kAt201m{30.5928 + 201 / kMetresPerDegreeLat, 114.3055};

GuardPost post(const std::string& days_text, std::vector<std::string> windows) {
    GuardPost p;
    p.school = "S-1";
    p.unit = "P-1";
    p.days = days_text;
    p.weekday_mask = parse_weekdays(days_text);
    p.tz = "Asia/Shanghai";
    for (const auto& w : windows) {
        MinuteWindow mw;
        if (!parse_window(w, mw)) {
            // Midnight-crossing windows are not importable; build them by hand.
            mw.begin_min = std::stoi(w.substr(0, 2)) * 60 + std::stoi(w.substr(3, 2));
            mw.end_min = std::stoi(w.substr(6, 2)) * 60 + std::stoi(w.substr(9, 2));
        }
        p.windows.push_back(mw);
        p.window_texts.push_back(w);
    }
    return p;
}

GuardPost school_run() { return post("mon-fri", {"07:00-08:30", "16:30-18:00"}); }

sys_days date(int y, unsigned m, unsigned d) { return sys_days{year{y} / month{m} / day{d}}; }

// Zones of the tz database (TimeZone::locate keeps one object per name):
// Shanghai, UTC+8 all year since 1991, and UTC; the tests of daylight saving
// time use Europe/Berlin below.
const TimeZone& zone(const char* name) {
    const auto z = TimeZone::locate(name);
    if (!z) throw std::runtime_error(std::string("tz database lacks ") + name + " (tzdata?)");
    return *z;
}
const TimeZone& shanghai() { return zone("Asia/Shanghai"); }
const TimeZone& utc_zone() { return zone("UTC"); }

// Local wall-clock time in a zone `offset` minutes east of UTC, as server time.
TimePoint local(sys_days d, int hh, int mm, int ss = 0, int offset = kShanghai) {
    return TimePoint{d} + hours{hh} + minutes{mm} + seconds{ss} - minutes{offset};
}

// A sample every `step` from `from` (inclusive) to `to` (exclusive) at `where`.
void track(std::vector<PositionSample>& out, TimePoint from, TimePoint to, GeoPoint where,
           seconds step = seconds{30}) {
    for (TimePoint t = from; t < to; t += step) out.push_back({t, where});
}

std::vector<DayCompliance> one_day(const GuardPost& p, const std::vector<PositionSample>& s,
                                   sys_days d, const ComplianceRules& rules = {}) {
    const auto [from, to] = local_days_range(d, d, shanghai());
    return guard_post_compliance(p, kSchool, shanghai(), s, from, to, rules);
}

const sys_days kTue = date(2026, 9, 1);  // a Tuesday

TEST(GuardPostCompliance, PresentThroughTheMorningWindowOnly) {
    // 07:00-08:30 Shanghai is 23:00-00:30 UTC: the window crosses the UTC
    // day boundary but belongs to the local day.
    std::vector<PositionSample> s;
    track(s, local(kTue, 6, 55), local(kTue, 8, 35), kSchool);
    const auto days_out = one_day(school_run(), s, kTue);
    ASSERT_EQ(days_out.size(), 1u);
    const DayCompliance& d = days_out[0];
    EXPECT_EQ(d.date, kTue);
    EXPECT_EQ(d.scheduled_min, 180);
    EXPECT_EQ(d.present_min, 90);
    ASSERT_EQ(d.windows.size(), 2u);
    EXPECT_EQ(d.windows[0].window, "07:00-08:30");
    EXPECT_EQ(d.windows[0].scheduled_min, 90);
    EXPECT_EQ(d.windows[0].present_min, 90);
    EXPECT_FALSE(d.windows[0].missed);
    EXPECT_EQ(d.windows[1].window, "16:30-18:00");
    EXPECT_EQ(d.windows[1].present_min, 0);
    EXPECT_TRUE(d.windows[1].missed);
    EXPECT_DOUBLE_EQ(share_pct(d.present_min, d.scheduled_min), 50.0);
}

TEST(GuardPostCompliance, InsideForAKnownShareThenAway) {
    // At the gate 07:00-07:45, then 1 km away until after the window: 45 of 90.
    std::vector<PositionSample> s;
    track(s, local(kTue, 6, 50), local(kTue, 7, 45), kSchool);
    track(s, local(kTue, 7, 45), local(kTue, 8, 40), kAway);
    auto d = one_day(school_run(), s, kTue);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].windows[0].present_min, 45);
    EXPECT_FALSE(d[0].windows[0].missed) << "exactly half is not below 50 %";

    // One minute less at the gate: below half, missed.
    s.clear();
    track(s, local(kTue, 6, 50), local(kTue, 7, 44), kSchool);
    track(s, local(kTue, 7, 44), local(kTue, 8, 40), kAway);
    d = one_day(school_run(), s, kTue);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].windows[0].present_min, 44);
    EXPECT_TRUE(d[0].windows[0].missed);
    EXPECT_EQ(d[0].present_min, 44);
    EXPECT_DOUBLE_EQ(share_pct(44, 180), 24.44);
}

TEST(GuardPostCompliance, AwayAllDayIsZeroAndBothWindowsMissed) {
    std::vector<PositionSample> s;
    track(s, local(kTue, 6, 0), local(kTue, 19, 0), kAway);
    const auto d = one_day(school_run(), s, kTue);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].scheduled_min, 180);
    EXPECT_EQ(d[0].present_min, 0);
    EXPECT_TRUE(d[0].windows[0].missed);
    EXPECT_TRUE(d[0].windows[1].missed);
}

TEST(GuardPostCompliance, NoSamplesAtAllIsAbsent) {
    const auto d = one_day(school_run(), {}, kTue);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].scheduled_min, 180);
    EXPECT_EQ(d[0].present_min, 0);
}

TEST(GuardPostCompliance, GapsLongerThanHoldCountAsAbsent) {
    // Samples at the gate every 30 s except none between 07:00:00 and 07:10:00.
    // Minute 07:00 (midpoint 07:00:30) is held by the 07:00:00 sample; 07:01
    // to 07:09 (midpoints 90 s and more after it) are not.
    std::vector<PositionSample> s;
    track(s, local(kTue, 6, 50), local(kTue, 7, 0, 1), kSchool);
    track(s, local(kTue, 7, 10), local(kTue, 8, 40), kSchool);
    auto d = one_day(school_run(), s, kTue);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].windows[0].present_min, 81);

    // With a hold of 10 minutes the gap is covered.
    ComplianceRules long_hold;
    long_hold.hold = minutes{10};
    d = one_day(school_run(), s, kTue, long_hold);
    EXPECT_EQ(d[0].windows[0].present_min, 90);
}

TEST(GuardPostCompliance, HoldIsInclusiveAndSamplesBeforeTheWindowCount) {
    // A sample before the window vouches for minute 07:00 (midpoint 07:00:30)
    // when it is at most `hold` (60 s) older than the midpoint.
    std::vector<PositionSample> s{{local(kTue, 6, 59, 30), kSchool}};  // 60 s before 07:00:30
    auto d = one_day(school_run(), s, kTue);
    EXPECT_EQ(d[0].windows[0].present_min, 1);
    s = {{local(kTue, 6, 59, 29), kSchool}};  // 61 s before
    d = one_day(school_run(), s, kTue);
    EXPECT_EQ(d[0].windows[0].present_min, 0);
    // A sample at 07:01:31 says nothing about minute 07:01 (midpoint 07:01:30).
    s = {{local(kTue, 7, 1, 31), kSchool}};
    d = one_day(school_run(), s, kTue);
    EXPECT_EQ(d[0].windows[0].present_min, 1);  // only minute 07:02 (held 59 s)
}

TEST(GuardPostCompliance, TheLatestSampleWins) {
    // At the gate at 07:00:00, away at 07:00:20: minute 07:00 is absent.
    std::vector<PositionSample> s{{local(kTue, 7, 0, 0), kSchool}, {local(kTue, 7, 0, 20), kAway}};
    const auto d = one_day(school_run(), s, kTue);
    EXPECT_EQ(d[0].present_min, 0);
}

TEST(GuardPostCompliance, RadiusIsInclusiveGreatCircleDistance) {
    ASSERT_LT(geo::haversine_m(kAt199m, kSchool), 200.0);
    ASSERT_GT(geo::haversine_m(kAt201m, kSchool), 200.0);
    std::vector<PositionSample> s;
    track(s, local(kTue, 7, 0), local(kTue, 7, 30), kAt199m);
    track(s, local(kTue, 7, 30), local(kTue, 8, 30), kAt201m);
    auto d = one_day(school_run(), s, kTue);
    EXPECT_EQ(d[0].windows[0].present_min, 30);
    ComplianceRules wide;
    wide.radius_m = 250;
    d = one_day(school_run(), s, kTue, wide);
    EXPECT_EQ(d[0].windows[0].present_min, 90);
}

TEST(GuardPostCompliance, WeekendsAreNotScheduledForMonFri) {
    // Friday 4 to Monday 7 September: Friday and Monday only.
    std::vector<PositionSample> s;
    for (sys_days d = date(2026, 9, 4); d <= date(2026, 9, 7); d += days{1}) {
        track(s, local(d, 7, 0), local(d, 8, 30), kSchool);
        track(s, local(d, 16, 30), local(d, 18, 0), kSchool);
    }
    const auto [from, to] = local_days_range(date(2026, 9, 4), date(2026, 9, 7), shanghai());
    const auto d = guard_post_compliance(school_run(), kSchool, shanghai(), s, from, to);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].date, date(2026, 9, 4));
    EXPECT_EQ(d[1].date, date(2026, 9, 7));
    for (const auto& day : d) {
        EXPECT_EQ(day.scheduled_min, 180);
        EXPECT_EQ(day.present_min, 180);
    }
    // A full week of a daily post has seven days.
    const auto week = local_days_range(date(2026, 9, 1), date(2026, 9, 7), shanghai());
    EXPECT_EQ(guard_post_compliance(post("daily", {"07:00-08:30"}), kSchool, shanghai(), s,
                                    week.first, week.second)
                  .size(),
              7u);
}

TEST(GuardPostCompliance, LocalDayIsNotTheUtcDay) {
    // The same instants seen by a UTC post: 23:00-00:30 UTC is 23:00 of the
    // previous UTC day, outside a 07:00-08:30 UTC window.
    std::vector<PositionSample> s;
    track(s, local(kTue, 6, 55), local(kTue, 8, 35), kSchool);
    const auto [from, to] = local_days_range(kTue, kTue, shanghai());
    EXPECT_EQ(from, TimePoint{date(2026, 8, 31)} + hours{16});
    EXPECT_EQ(to, TimePoint{date(2026, 9, 1)} + hours{16});
    EXPECT_EQ(shanghai().local_date(local(kTue, 0, 0)), kTue);
    EXPECT_EQ(shanghai().local_date(local(kTue, 0, 0) - Micros{1}), date(2026, 8, 31));
    // The UTC post over UTC 2026-09-01 sees no sample in its 07:00-08:30.
    const auto utc = local_days_range(kTue, kTue, utc_zone());
    auto d = guard_post_compliance(school_run(), kSchool, utc_zone(), s, utc.first, utc.second);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].date, kTue);
    EXPECT_EQ(d[0].windows[0].present_min, 0);
    // Over UTC 2026-08-31 (a Monday), its 23:00-00:30 UTC presence is out of window too.
    const auto mon = local_days_range(date(2026, 8, 31), date(2026, 8, 31), utc_zone());
    d = guard_post_compliance(school_run(), kSchool, utc_zone(), s, mon.first, mon.second);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].present_min, 0);
}

TEST(GuardPostCompliance, ARangeEndingMidWindowCountsTheElapsedPart) {
    std::vector<PositionSample> s;
    track(s, local(kTue, 6, 55), local(kTue, 8, 35), kSchool);
    // From 07:20 to 07:50 local: 30 minutes of the morning window, none of the afternoon.
    auto d = guard_post_compliance(school_run(), kSchool, shanghai(), s, local(kTue, 7, 20),
                                   local(kTue, 7, 50));
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].scheduled_min, 30);
    EXPECT_EQ(d[0].present_min, 30);
    ASSERT_EQ(d[0].windows.size(), 1u);
    EXPECT_EQ(d[0].windows[0].window, "07:00-08:30");
    // A range holding no scheduled minute: nothing.
    EXPECT_TRUE(guard_post_compliance(school_run(), kSchool, shanghai(), s, local(kTue, 9, 0),
                                      local(kTue, 16, 0))
                    .empty());
    EXPECT_TRUE(guard_post_compliance(school_run(), kSchool, shanghai(), s, local(kTue, 9, 0),
                                      local(kTue, 9, 0))
                    .empty());
}

TEST(GuardPostCompliance, AWindowCrossingMidnightBelongsToItsFirstDay) {
    // Friday 22:00 to Saturday 06:00 on a "fri" post: 480 minutes, all Friday's.
    const GuardPost night = post("fri", {"22:00-06:00"});
    std::vector<PositionSample> s;
    track(s, local(date(2026, 9, 4), 21, 0), local(date(2026, 9, 5), 2, 0), kSchool);
    track(s, local(date(2026, 9, 5), 2, 0), local(date(2026, 9, 5), 7, 0), kAway);
    const auto [from, to] = local_days_range(date(2026, 9, 4), date(2026, 9, 5), shanghai());
    auto d = guard_post_compliance(night, kSchool, shanghai(), s, from, to);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].date, date(2026, 9, 4));
    EXPECT_EQ(d[0].scheduled_min, 480);
    EXPECT_EQ(d[0].present_min, 240);
    EXPECT_FALSE(d[0].windows[0].missed);
    // Asking for Saturday alone still finds Friday's window's Saturday part.
    const auto sat = local_days_range(date(2026, 9, 5), date(2026, 9, 5), shanghai());
    d = guard_post_compliance(night, kSchool, shanghai(), s, sat.first, sat.second);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].date, date(2026, 9, 4));
    EXPECT_EQ(d[0].scheduled_min, 360);
    EXPECT_EQ(d[0].present_min, 120);
}

TEST(GuardPostCompliance, OverlappingWindowsCountOnceInTheDay) {
    const GuardPost p = post("daily", {"07:00-08:00", "07:30-08:30"});
    std::vector<PositionSample> s;
    track(s, local(kTue, 7, 0), local(kTue, 8, 30), kSchool);
    const auto d = one_day(p, s, kTue);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].scheduled_min, 90);
    EXPECT_EQ(d[0].present_min, 90);
    EXPECT_EQ(d[0].windows[0].scheduled_min, 60);
    EXPECT_EQ(d[0].windows[1].scheduled_min, 60);
}

TEST(GuardPostCompliance, MissedThresholdIsConfigurable) {
    std::vector<PositionSample> s;
    // The last sample at the gate is 08:28:00; minute 08:29 (midpoint 08:29:30) is not held.
    track(s, local(kTue, 7, 0), local(kTue, 8, 28, 30), kSchool);  // 89 of 90 minutes
    ComplianceRules strict;
    strict.missed_below_pct = 100;
    auto d = one_day(school_run(), s, kTue, strict);
    EXPECT_EQ(d[0].windows[0].present_min, 89);
    EXPECT_TRUE(d[0].windows[0].missed);
    track(s, local(kTue, 8, 28, 30), local(kTue, 8, 31), kSchool);
    d = one_day(school_run(), s, kTue, strict);
    EXPECT_FALSE(d[0].windows[0].missed);
}

TEST(GuardPostCompliance, SampleSpansCoverTheWindowsWidenedByHold) {
    const auto [from, to] = local_days_range(date(2026, 9, 4), date(2026, 9, 7), shanghai());
    const auto spans = sample_spans(school_run(), shanghai(), from, to, seconds{60});
    // Friday and Monday, two windows each.
    ASSERT_EQ(spans.size(), 4u);
    EXPECT_EQ(spans[0], TimeSpan(local(date(2026, 9, 4), 6, 59), local(date(2026, 9, 4), 8, 30)));
    EXPECT_EQ(spans[1], TimeSpan(local(date(2026, 9, 4), 16, 29), local(date(2026, 9, 4), 18, 0)));
    EXPECT_EQ(spans[3], TimeSpan(local(date(2026, 9, 7), 16, 29), local(date(2026, 9, 7), 18, 0)));
    // Clipped to the range.
    const auto part =
        sample_spans(school_run(), shanghai(), local(kTue, 7, 20), local(kTue, 7, 50), seconds{60});
    ASSERT_EQ(part.size(), 1u);
    EXPECT_EQ(part[0], TimeSpan(local(kTue, 7, 19), local(kTue, 7, 50)));

    // Samples outside the spans change nothing: a random walk around the school.
    std::vector<PositionSample> all, kept;
    unsigned x = 12345;
    for (TimePoint t = from - hours{1}; t < to; t += seconds{30}) {
        x = x * 1103515245u + 12345u;
        const double north = static_cast<double>((x >> 8) % 400);  // 0 ... 399 m
        all.push_back({t, {kSchool.lat + north / kMetresPerDegreeLat, kSchool.lon}});
    }
    for (const auto& p : all) {
        for (const auto& sp : spans) {
            if (p.at >= sp.first && p.at < sp.second) kept.push_back(p);
        }
    }
    const auto a = guard_post_compliance(school_run(), kSchool, shanghai(), all, from, to);
    const auto k = guard_post_compliance(school_run(), kSchool, shanghai(), kept, from, to);
    ASSERT_EQ(a.size(), k.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].present_min, k[i].present_min);
        EXPECT_GT(a[i].present_min, 0);
        EXPECT_LT(a[i].present_min, 180);
    }
}

TEST(GuardPostCompliance, MergeSpansJoinsOverlappingAndTouching) {
    const TimePoint t0 = local(kTue, 0, 0);
    std::vector<TimeSpan> spans{{t0 + minutes{50}, t0 + minutes{60}},
                                {t0, t0 + minutes{10}},
                                {t0 + minutes{10}, t0 + minutes{20}},
                                {t0 + minutes{5}, t0 + minutes{15}},
                                {t0 + minutes{55}, t0 + minutes{58}}};
    merge_spans(spans);
    EXPECT_EQ(spans, (std::vector<TimeSpan>{{t0, t0 + minutes{20}},
                                            {t0 + minutes{50}, t0 + minutes{60}}}));
}

TEST(GuardPostCompliance, SharePercentRoundsToTwoDecimals) {
    EXPECT_DOUBLE_EQ(share_pct(0, 0), 0.0);
    EXPECT_DOUBLE_EQ(share_pct(1, 3), 33.33);
    EXPECT_DOUBLE_EQ(share_pct(2, 3), 66.67);
    EXPECT_DOUBLE_EQ(share_pct(180, 180), 100.0);
}

// Daylight saving time, from the tz database (tzdata). In Europe/Berlin in
// 2026 clocks go forward on Sunday 29 March at 02:00 (to 03:00; 01:00Z) and
// back on Sunday 25 October at 03:00 (to 02:00; 01:00Z).
class GuardPostDaylightSaving : public ::testing::Test {
  protected:
    void SetUp() override {
        berlin_ = TimeZone::locate("Europe/Berlin");
        ASSERT_NE(berlin_, nullptr) << "tzdata is not installed";
    }
    static TimePoint utc(sys_days d, int hh, int mm) {
        return TimePoint{d} + hours{hh} + minutes{mm};
    }
    GuardPost sunday(const std::string& window) {
        GuardPost p = post("sun", {window});
        p.tz = "Europe/Berlin";
        return p;
    }
    std::shared_ptr<const TimeZone> berlin_;
};

TEST_F(GuardPostDaylightSaving, TheSkippedHourIsNotScheduled) {
    const sys_days day = date(2026, 3, 29);
    // 01:30-03:30 local is 00:30Z-01:30Z: one real hour, 02:00-02:59 never happen.
    std::vector<PositionSample> s;
    track(s, utc(day, 0, 0) - hours{1}, utc(day, 2, 0), kSchool);
    const auto [from, to] = local_days_range(day, day, *berlin_);
    EXPECT_EQ(from, utc(day, 0, 0) - hours{1});  // midnight CET
    EXPECT_EQ(to, utc(day, 22, 0));              // next midnight CEST: a 23-hour day
    const auto d = guard_post_compliance(sunday("01:30-03:30"), kSchool, *berlin_, s, from, to);
    ASSERT_EQ(d.size(), 1U);
    EXPECT_EQ(d[0].date, day);
    EXPECT_EQ(d[0].scheduled_min, 60);
    EXPECT_EQ(d[0].present_min, 60);
    // A window wholly inside the gap schedules nothing that day.
    EXPECT_TRUE(
        guard_post_compliance(sunday("02:00-03:00"), kSchool, *berlin_, s, from, to).empty());
}

TEST_F(GuardPostDaylightSaving, TheRepeatedHourCountsOnceAtItsFirstOccurrence) {
    const sys_days day = date(2026, 10, 25);
    const auto [from, to] = local_days_range(day, day, *berlin_);
    EXPECT_EQ(from, utc(day, 0, 0) - hours{2});  // midnight CEST
    EXPECT_EQ(to, utc(day, 23, 0));              // next midnight CET: a 25-hour day
    // 01:30-03:30 local: 120 local minutes; 02:00-02:59 are first lived in
    // CEST (00:00Z-00:59Z), then again in CET (01:00Z-01:59Z).
    std::vector<PositionSample> all;
    track(all, utc(day, 0, 0) - hours{3}, utc(day, 3, 0), kSchool);
    auto d = guard_post_compliance(sunday("01:30-03:30"), kSchool, *berlin_, all, from, to);
    ASSERT_EQ(d.size(), 1U);
    EXPECT_EQ(d[0].scheduled_min, 120);
    EXPECT_EQ(d[0].present_min, 120);

    // At the gate only during the second 02:00-02:59: those minutes were
    // judged at their first occurrence, when the unit was away.
    std::vector<PositionSample> second;
    track(second, utc(day, 0, 0) - hours{3}, utc(day, 1, 0), kAway);
    track(second, utc(day, 1, 0), utc(day, 2, 0), kSchool);
    track(second, utc(day, 2, 0), utc(day, 3, 0), kAway);
    d = guard_post_compliance(sunday("01:30-03:30"), kSchool, *berlin_, second, from, to);
    ASSERT_EQ(d.size(), 1U);
    EXPECT_EQ(d[0].scheduled_min, 120);
    EXPECT_EQ(d[0].present_min, 0);
    EXPECT_TRUE(d[0].windows[0].missed);
}

TEST_F(GuardPostDaylightSaving, SampleSpansFollowTheOffsetOfEachDay) {
    // A daily 07:00-08:00 post: 06:00Z in winter, 05:00Z in summer.
    GuardPost p = post("daily", {"07:00-08:00"});
    p.tz = "Europe/Berlin";
    const auto [from, to] = local_days_range(date(2026, 3, 28), date(2026, 3, 29), *berlin_);
    const auto spans = sample_spans(p, *berlin_, from, to, seconds{60});
    ASSERT_EQ(spans.size(), 2U);
    EXPECT_EQ(spans[0],
              (TimeSpan{utc(date(2026, 3, 28), 6, 0) - seconds{60}, utc(date(2026, 3, 28), 7, 0)}));
    EXPECT_EQ(spans[1],
              (TimeSpan{utc(date(2026, 3, 29), 5, 0) - seconds{60}, utc(date(2026, 3, 29), 6, 0)}));
}

TEST(TimeZoneDatabase, UnknownNamesAreNull) {
    EXPECT_EQ(TimeZone::locate("Mars/Olympus"), nullptr);
    EXPECT_EQ(TimeZone::locate(""), nullptr);
    EXPECT_NE(TimeZone::locate("Asia/Shanghai"), nullptr);
}

}  // namespace
}  // namespace huxiao::supervision
