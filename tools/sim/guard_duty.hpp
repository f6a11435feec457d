// Guard-post duty of a simulated unit (issue 15 item 4): when its post's next
// window is, and how this crew turns out for it. Pure: the clock and the dice
// are passed in, so tests/unit/sim_guard_duty_test.cpp checks it without I/O.
//
// A real city keeps most windows: the crew leaves base in time to be at the
// gate a few minutes before the window opens and holds position until it
// closes. Now and then a crew is late (a flat tyre, a briefing that ran long)
// or misses a window altogether (called to court, vehicle in the workshop);
// and an incident elsewhere takes a unit off its post for a while. The
// guard-post report then shows what it would for a real city: mostly held,
// a few windows missed, each with its present minutes.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/model/registry.hpp"
#include "common/model/time_point.hpp"
#include "common/util/time_zone.hpp"

namespace huxiao::sim {

// One scheduled window of a post, in server time: [begin, end).
struct DutyWindow {
    TimePoint begin;
    TimePoint end;
    std::string text;  // as written in the registry, e.g. "07:00-08:30"
    bool operator==(const DutyWindow&) const = default;
};

// The window of `post` going on at `now`, or else the next one to begin
// (looking eight days ahead); nullopt when the post schedules nothing.
// `zone`: the post's time zone from the tz database. On the nights clocks
// change a window takes the instants its local minutes take
// (TimeZone::local_span): shorter in spring, longer in autumn, and none when
// clocks skip the whole window.
std::optional<DutyWindow> current_or_next_window(const GuardPost& post, const TimeZone& zone,
                                                 TimePoint now);

enum class Turnout { on_time, late, missed };

struct DutyPlan {
    DutyWindow window;
    Turnout turnout = Turnout::on_time;
    std::chrono::minutes late_by{0};  // how long after the window opens a late crew arrives
};

// How often crews are late or miss a window.
struct DutyOdds {
    double late = 0.12;
    double missed = 0.06;
};

// Rolls the turnout for `window` from two uniform numbers in [0, 1): the
// first picks on time / late / missed, the second how late (10 to 40 min).
DutyPlan plan_duty(const DutyWindow& window, const DutyOdds& odds, double u_turnout, double u_late);

// When the crew leaves for the gate, given how long the drive takes: to be
// there `margin` before the window opens, or `late_by` after it. Nullopt for
// a missed window.
std::optional<TimePoint> departure(const DutyPlan& plan, std::chrono::seconds drive,
                                   std::chrono::seconds margin);

const char* to_string(Turnout t);

}  // namespace huxiao::sim
