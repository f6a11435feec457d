// Local civil time in the zones of the IANA tz database (tzdata), for
// guard-post windows and local report days (contract §7: a guard post's
// `tz`). The rules come from the system's tzdata through Howard Hinnant's
// date/tz library, so zones with daylight saving time work, and a city keeps
// up with rule changes by updating the tzdata package.
//
// The domain asks only two questions of a zone — the offset at an instant,
// and the instant of a local wall-clock time — so the core stays
// deterministic for a given tzdata. There is no table of fixed offsets.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <utility>

#include "common/model/time_point.hpp"

namespace huxiao {

// The instant of a local wall-clock time.
struct LocalInstant {
    TimePoint at;
    // The local time does not exist: clocks went forward over it (e.g. 02:30
    // on a spring-forward night). `at` is then the instant they jumped, the
    // first one after the gap.
    bool skipped = false;
};

class TimeZone {
  public:
    virtual ~TimeZone() = default;

    // Local time = UTC + offset, at instant `at`.
    virtual std::chrono::minutes offset_at(TimePoint at) const = 0;
    // The instant of local time `minute` minutes after the local midnight
    // that starts civil date `date` (a minute past 1440 falls on the next
    // days). A local time repeated by a backward change (the doubled hour)
    // gives its first occurrence.
    virtual LocalInstant from_local(std::chrono::sys_days date, int minute) const = 0;

    // The instants [first, last) that the local minutes [begin, end) after
    // the midnight starting `date` take: a forward change inside shortens
    // them, a backward one lengthens them (the repeated minutes lie inside,
    // lived twice). first == last when a forward change skips them all.
    std::pair<TimePoint, TimePoint> local_span(std::chrono::sys_days date, int begin,
                                               int end) const {
        return {from_local(date, begin).at, from_local(date, end).at};
    }

    // The local civil date at `at`.
    std::chrono::sys_days local_date(TimePoint at) const {
        return std::chrono::floor<std::chrono::days>(at + offset_at(at));
    }

    // A zone of the system's tz database by name ("Asia/Shanghai",
    // "Europe/Berlin"); nullptr for a name it does not know (or when tzdata is
    // not installed).
    static std::shared_ptr<const TimeZone> locate(std::string_view name);
};

}  // namespace huxiao
