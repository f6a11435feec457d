#include "common/geo/guard_post.hpp"

#include <chrono>
#include <utility>

#include "common/util/time_zone.hpp"

namespace huxiao::geo {

namespace {

bool day_listed(unsigned mask, int weekday) { return ((mask >> weekday) & 1U) != 0; }

}  // namespace

LocalTime local_time_at_offset(TimePoint at, int utc_offset_min) {
    using namespace std::chrono;
    const auto local = floor<minutes>(at) + minutes{utc_offset_min};
    const auto day = floor<days>(local);
    const weekday wd{sys_days{day.time_since_epoch()}};
    return LocalTime{static_cast<int>(wd.iso_encoding()) - 1,
                     static_cast<int>((local - day).count())};
}

std::optional<LocalTime> tz_local_time(std::string_view tz, TimePoint at) {
    const auto zone = TimeZone::locate(tz);
    if (!zone) return std::nullopt;
    return local_time_at_offset(at, static_cast<int>(zone->offset_at(at).count()));
}

bool guard_post_active(const GuardPost& post, LocalTime t) {
    const int yesterday = (t.weekday + 6) % 7;
    for (const MinuteWindow& w : post.windows) {
        if (w.begin_min < w.end_min) {
            if (day_listed(post.weekday_mask, t.weekday) && t.minute_of_day >= w.begin_min &&
                t.minute_of_day < w.end_min) {
                return true;
            }
        } else {
            // Crosses midnight: the evening part today, the morning part from yesterday.
            if (day_listed(post.weekday_mask, t.weekday) && t.minute_of_day >= w.begin_min) {
                return true;
            }
            if (day_listed(post.weekday_mask, yesterday) && t.minute_of_day < w.end_min) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace huxiao::geo
