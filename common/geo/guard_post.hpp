// Guard posts: a unit stationed at a school during daily windows (contract §7,
// e.g. mon-fri 07:00-08:30 for the morning gate). While a window is active the
// router ranks that unit first for that school, whatever its ETA.
//
// Windows are local time of the post's `tz`. The core stays pure, so the
// conversion from server time to local time is a function passed in
// (`LocalTimeFn`). The default, `tz_local_time`, reads the IANA tz database
// (common/util/time_zone.hpp), daylight saving time included; a post in a
// zone the database does not know is never active (the import rejects such
// a zone).
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "common/model/registry.hpp"
#include "common/model/time_point.hpp"

namespace huxiao::geo {

struct LocalTime {
    int weekday = 0;        // 0 = Monday ... 6 = Sunday (bit index of GuardPost::weekday_mask)
    int minute_of_day = 0;  // 0 ... 1439
};

// Local wall-clock time in zone `tz` at server time `at`; nullopt for an unknown zone.
using LocalTimeFn = std::function<std::optional<LocalTime>(std::string_view tz, TimePoint at)>;

// Local time in zone `tz` of the tz database; nullopt for an unknown zone.
std::optional<LocalTime> tz_local_time(std::string_view tz, TimePoint at);

// Local time at a known offset (minutes east of UTC).
LocalTime local_time_at_offset(TimePoint at, int utc_offset_min);

// Whether `post` is active at local time `t`. A window is [begin, end) in
// minutes since local midnight. A window with end <= begin crosses midnight
// (22:00-06:00): its part after midnight belongs to the day it started, so
// "mon 22:00-06:00" covers Monday 22:00 to Tuesday 06:00.
bool guard_post_active(const GuardPost& post, LocalTime t);

}  // namespace huxiao::geo
