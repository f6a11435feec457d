// Guard-post compliance (护学岗, contract §7, issue 5 item 3): for each
// scheduled day of a guard post, how many scheduled minutes its unit was at
// the school gate, and which windows were missed. Pure: the shell loads the
// post, the school and the unit's sampled positions and passes them in.
//
// The rule (docs/guard-posts.md):
//
//  * Scheduled minutes. Day D (a local calendar day in the post's zone, from
//    the tz database) is scheduled when its weekday is in the post's mask;
//    each window [begin, end) then contributes the whole minutes from begin to
//    end of local day D. Daylight saving time: local minutes that a forward
//    change skips do not exist and are not scheduled; minutes that a backward
//    change repeats are checked once, at their first occurrence. A window with end <= begin crosses
//    midnight and belongs wholly to the day it starts on (as in geo::guard_post_active). Only
//    minutes whose start lies in the requested range [from, to) count, so a range that ends
//    mid-window counts the window's elapsed part only. A minute covered by two windows counts once
//    in the day's totals.
//  * Held position. A position sample at time t vouches for the unit's
//    position during [t, t + hold]: the held position at instant x is that of
//    the latest sample at or before x, provided x - t <= hold; with no such
//    sample the position is unknown (gaps longer than `hold` count as absent).
//  * Present minute. A scheduled minute is present when the held position at
//    its midpoint (start + 30 s) is within `radius_m` of the school
//    (great-circle distance, inclusive).
//  * Missed window. A window with scheduled minutes on a day is missed when
//    present_min * 100 < missed_below_pct * scheduled_min (default: present
//    for less than half of it).
//  * Days without scheduled minutes in the range (weekends of a mon-fri post,
//    days outside the range) are left out of the result.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/model/registry.hpp"
#include "common/model/time_point.hpp"
#include "common/util/time_zone.hpp"

namespace huxiao::supervision {

struct PositionSample {
    TimePoint at;
    GeoPoint position;
};

struct ComplianceRules {
    double radius_m = 200;
    // How long a sample vouches for the unit's position: by default twice the
    // server's sampling interval (supervision.position_sample_s = 30 s).
    std::chrono::seconds hold{60};
    // A window is missed when its present share is below this percentage.
    int missed_below_pct = 50;
};

struct WindowCompliance {
    std::string window;  // as written, e.g. "07:00-08:30"
    int scheduled_min = 0;
    int present_min = 0;
    bool missed = false;
};

struct DayCompliance {
    std::chrono::sys_days date;  // the local calendar date (read as a civil date)
    int scheduled_min = 0;
    int present_min = 0;
    // Every window with scheduled minutes that day, in the post's order.
    std::vector<WindowCompliance> windows;
};

// Compliance of `post` (its weekday mask, windows and window texts) at a
// school at `school`, in time zone `zone`, over
// [from, to). `samples` are the post's unit's positions, sorted by time; to
// be complete they must cover [from - hold, to). Days in ascending order.
std::vector<DayCompliance> guard_post_compliance(const GuardPost& post, GeoPoint school,
                                                 const TimeZone& zone,
                                                 std::span<const PositionSample> samples,
                                                 TimePoint from, TimePoint to,
                                                 const ComplianceRules& rules = {});

// A span of server time [first, second).
using TimeSpan = std::pair<TimePoint, TimePoint>;

// The spans whose samples guard_post_compliance can use for `post` over
// [from, to): every scheduled window of a day in range, clipped to the range
// and widened by `hold` before it; sorted and merged. Loading only these is
// enough for an exact result (the shell's query reads no more).
std::vector<TimeSpan> sample_spans(const GuardPost& post, const TimeZone& zone, TimePoint from,
                                   TimePoint to, std::chrono::seconds hold);

// Sorts and merges overlapping or touching spans in place.
void merge_spans(std::vector<TimeSpan>& spans);

// [from, to) of the local calendar days first ... last (inclusive) in `zone`.
std::pair<TimePoint, TimePoint> local_days_range(std::chrono::sys_days first,
                                                 std::chrono::sys_days last, const TimeZone& zone);

// Share in percent rounded to two decimals (0 when nothing was scheduled).
double share_pct(int present_min, int scheduled_min);

}  // namespace huxiao::supervision
