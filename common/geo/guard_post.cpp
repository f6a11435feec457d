#include "common/geo/guard_post.hpp"

#include <array>
#include <chrono>
#include <utility>

namespace huxiao::geo {

namespace {

struct FixedZone {
    std::string_view name;
    int offset_min;
};

// Zones whose offset has not changed since 1992 (China dropped DST in 1991).
constexpr std::array<FixedZone, 12> kFixedZones{{
    {"Asia/Shanghai", 480},
    {"Asia/Chongqing", 480},
    {"Asia/Chungking", 480},
    {"Asia/Harbin", 480},
    {"PRC", 480},
    {"Asia/Hong_Kong", 480},
    {"Asia/Macau", 480},
    {"Asia/Taipei", 480},
    {"Asia/Urumqi", 360},
    {"UTC", 0},
    {"Etc/UTC", 0},
    {"Etc/GMT", 0},
}};

bool day_listed(unsigned mask, int weekday) { return ((mask >> weekday) & 1U) != 0; }

}  // namespace

std::optional<int> fixed_utc_offset_min(std::string_view tz) {
    for (const FixedZone& z : kFixedZones) {
        if (z.name == tz) return z.offset_min;
    }
    return std::nullopt;
}

LocalTime local_time_at_offset(TimePoint at, int utc_offset_min) {
    using namespace std::chrono;
    const auto local = floor<minutes>(at) + minutes{utc_offset_min};
    const auto day = floor<days>(local);
    const weekday wd{sys_days{day.time_since_epoch()}};
    return LocalTime{static_cast<int>(wd.iso_encoding()) - 1,
                     static_cast<int>((local - day).count())};
}

std::optional<LocalTime> fixed_offset_local_time(std::string_view tz, TimePoint at) {
    const std::optional<int> offset = fixed_utc_offset_min(tz);
    if (!offset) return std::nullopt;
    return local_time_at_offset(at, *offset);
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
