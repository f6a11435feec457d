// The simulator's guard-post planner (tools/sim/guard_duty.hpp, issue 15
// item 4): which window a posted unit works towards, how its crew turns out,
// and when it leaves base. Pure: times and dice are passed in.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "common/model/registry_import.hpp"
#include "common/util/time.hpp"
#include "tools/sim/guard_duty.hpp"

namespace huxiao::sim {
namespace {

using namespace std::chrono;

// Zones from the tz database (TimeZone::locate keeps one object per name).
const TimeZone& zone(const char* name) {
    const auto z = TimeZone::locate(name);
    if (!z) throw std::runtime_error(std::string("tz database lacks ") + name + " (tzdata?)");
    return *z;
}
const TimeZone& shanghai() { return zone("Asia/Shanghai"); }

GuardPost demo_post() {
    GuardPost p;
    p.school = "S-01";
    p.unit = "P-01";
    p.days = "mon-fri";
    p.weekday_mask = parse_weekdays(p.days);
    p.tz = "Asia/Shanghai";
    for (const std::string w : {"07:00-08:30", "16:30-18:00"}) {
        MinuteWindow mw;
        EXPECT_TRUE(parse_window(w, mw));
        p.windows.push_back(mw);
        p.window_texts.push_back(w);
    }
    return p;
}

TimePoint at(const std::string& iso) {
    const auto t = parse_iso8601(iso);
    EXPECT_TRUE(t) << iso;
    return from_unix_micros(t.value_or(0));
}

TEST(SimGuardDuty, TheNextWindowIsTodaysMorningBeforeItOpens) {
    // Monday 2 March 2026, 06:00 in Shanghai.
    const auto w = current_or_next_window(demo_post(), shanghai(), at("2026-03-01T22:00:00Z"));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->begin, at("2026-03-01T23:00:00Z"));
    EXPECT_EQ(w->end, at("2026-03-02T00:30:00Z"));
    EXPECT_EQ(w->text, "07:00-08:30");
}

TEST(SimGuardDuty, AWindowGoingOnIsTheCurrentOne) {
    // Monday 17:00 in Shanghai: the afternoon window is open.
    const auto w = current_or_next_window(demo_post(), shanghai(), at("2026-03-02T09:00:00Z"));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->text, "16:30-18:00");
    EXPECT_EQ(w->begin, at("2026-03-02T08:30:00Z"));
}

TEST(SimGuardDuty, AfterFridaysLastWindowComesMondayMorning) {
    // Friday 6 March, 18:00 sharp in Shanghai: the afternoon window has just ended.
    const auto w = current_or_next_window(demo_post(), shanghai(), at("2026-03-06T10:00:00Z"));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->begin, at("2026-03-08T23:00:00Z"));  // Monday 9 March 07:00 +08
}

TEST(SimGuardDuty, APostWithoutDaysHasNoWindow) {
    GuardPost p = demo_post();
    p.weekday_mask = 0;
    EXPECT_FALSE(current_or_next_window(p, shanghai(), at("2026-03-02T00:00:00Z")));
}

// New York, 2026: clocks go forward on Sunday 8 March at 02:00 (to 03:00,
// 07:00Z) and back on Sunday 1 November at 02:00 (to 01:00, 06:00Z).
GuardPost night_post(const std::string& window) {
    GuardPost p = demo_post();
    p.days = "sun";
    p.weekday_mask = parse_weekdays(p.days);
    p.tz = "America/New_York";
    p.windows.assign(1, MinuteWindow{});
    EXPECT_TRUE(parse_window(window, p.windows[0]));
    p.window_texts.assign(1, window);
    return p;
}

TEST(SimGuardDuty, AWindowInTheSkippedSpringHourIsShorterOrGone) {
    const TimeZone& ny = zone("America/New_York");
    // 01:30-03:30 local on 8 March: 01:30 EST (06:30Z) to 03:30 EDT (07:30Z), one hour.
    auto w = current_or_next_window(night_post("01:30-03:30"), ny, at("2026-03-08T00:00:00Z"));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->begin, at("2026-03-08T06:30:00Z"));
    EXPECT_EQ(w->end, at("2026-03-08T07:30:00Z"));
    // 02:00-03:00 does not happen that night: the next is a week later, in EDT.
    w = current_or_next_window(night_post("02:00-03:00"), ny, at("2026-03-08T00:00:00Z"));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->begin, at("2026-03-15T06:00:00Z"));
    EXPECT_EQ(w->end, at("2026-03-15T07:00:00Z"));
}

TEST(SimGuardDuty, AWindowOverTheRepeatedAutumnHourIsLonger) {
    const TimeZone& ny = zone("America/New_York");
    // 00:30-02:30 local on 1 November: 00:30 EDT (04:30Z) to 02:30 EST
    // (07:30Z); 01:00-01:59 are lived twice, so the crew holds three hours.
    const auto w =
        current_or_next_window(night_post("00:30-02:30"), ny, at("2026-11-01T00:00:00Z"));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->begin, at("2026-11-01T04:30:00Z"));
    EXPECT_EQ(w->end, at("2026-11-01T07:30:00Z"));
    // Still the current window during the second 01:15 (06:15Z).
    const auto later =
        current_or_next_window(night_post("00:30-02:30"), ny, at("2026-11-01T06:15:00Z"));
    ASSERT_TRUE(later);
    EXPECT_EQ(later->begin, at("2026-11-01T04:30:00Z"));
}

TEST(SimGuardDuty, TheDiceDecideOnTimeLateOrMissed) {
    const DutyWindow w{at("2026-03-01T23:00:00Z"), at("2026-03-02T00:30:00Z"), "07:00-08:30"};
    const DutyOdds odds{0.12, 0.06};
    EXPECT_EQ(plan_duty(w, odds, 0.05, 0.5).turnout, Turnout::missed);
    const DutyPlan late = plan_duty(w, odds, 0.10, 0.0);
    EXPECT_EQ(late.turnout, Turnout::late);
    EXPECT_EQ(late.late_by, minutes{10});
    EXPECT_EQ(plan_duty(w, odds, 0.17, 0.999).late_by, minutes{40});
    EXPECT_EQ(plan_duty(w, odds, 0.18, 0.5).turnout, Turnout::on_time);
    EXPECT_EQ(plan_duty(w, odds, 0.99, 0.5).turnout, Turnout::on_time);
}

TEST(SimGuardDuty, TheCrewLeavesToBeThereBeforeTheWindowOrAsLateAsPlanned) {
    const DutyWindow w{at("2026-03-01T23:00:00Z"), at("2026-03-02T00:30:00Z"), "07:00-08:30"};
    const DutyOdds odds{0.12, 0.06};
    const auto drive = seconds{600};
    EXPECT_EQ(departure(plan_duty(w, odds, 0.5, 0.5), drive, minutes{5}),
              at("2026-03-01T22:45:00Z"));
    EXPECT_EQ(departure(plan_duty(w, odds, 0.10, 0.0), drive, minutes{5}),
              at("2026-03-01T23:00:00Z"));  // 10 min late, 10 min drive
    EXPECT_FALSE(departure(plan_duty(w, odds, 0.01, 0.5), drive, minutes{5}));
}

}  // namespace
}  // namespace huxiao::sim
