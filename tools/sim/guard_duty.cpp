#include "tools/sim/guard_duty.hpp"

#include <algorithm>

namespace huxiao::sim {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::sys_days;

namespace {
constexpr int kMinutesPerDay = 24 * 60;
constexpr int kLookAheadDays = 8;
}  // namespace

std::optional<DutyWindow> current_or_next_window(const GuardPost& post, const TimeZone& zone,
                                                 TimePoint now) {
    std::optional<DutyWindow> best;
    // From yesterday: a window crossing midnight belongs to the day it starts.
    const sys_days today = zone.local_date(now);
    for (sys_days day = today - days{1}; day <= today + days{kLookAheadDays}; day += days{1}) {
        const int weekday = static_cast<int>(std::chrono::weekday{day}.iso_encoding()) - 1;
        if (((post.weekday_mask >> weekday) & 1U) == 0) continue;
        for (std::size_t i = 0; i < post.windows.size(); ++i) {
            const int begin = std::clamp(post.windows[i].begin_min, 0, kMinutesPerDay);
            int end = std::clamp(post.windows[i].end_min, 0, kMinutesPerDay);
            if (end <= begin) end += kMinutesPerDay;
            const auto [first, last] = zone.local_span(day, begin, end);
            if (first >= last || last <= now) continue;
            DutyWindow w{first, last,
                         i < post.window_texts.size() ? post.window_texts[i] : std::string()};
            if (!best || w.begin < best->begin) best = std::move(w);
        }
    }
    return best;
}

DutyPlan plan_duty(const DutyWindow& window, const DutyOdds& odds, double u_turnout,
                   double u_late) {
    DutyPlan plan{window, Turnout::on_time, minutes{0}};
    if (u_turnout < odds.missed) {
        plan.turnout = Turnout::missed;
    } else if (u_turnout < odds.missed + odds.late) {
        plan.turnout = Turnout::late;
        plan.late_by = minutes{10 + static_cast<int>(std::clamp(u_late, 0.0, 0.999) * 31)};
    }
    return plan;
}

std::optional<TimePoint> departure(const DutyPlan& plan, std::chrono::seconds drive,
                                   std::chrono::seconds margin) {
    switch (plan.turnout) {
        case Turnout::missed:
            return std::nullopt;
        case Turnout::late:
            return plan.window.begin + plan.late_by - drive;
        case Turnout::on_time:
            break;
    }
    return plan.window.begin - drive - margin;
}

const char* to_string(Turnout t) {
    switch (t) {
        case Turnout::on_time:
            return "on time";
        case Turnout::late:
            return "late";
        case Turnout::missed:
            return "missed";
    }
    return "?";
}

}  // namespace huxiao::sim
