// The checklist items huxiao answers from its own live data (contract §10):
// `alarm_linked`, `alarm_tested`, `guard_post_peak` and `drill_held`, each
// with the reason a person can check. Pure: the shell gathers the facts with
// SQL and passes them with `now`. Rules in docs/inspections.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/util/time.hpp"
#include "common/util/time_zone.hpp"

namespace huxiao::inspection {

// What the database knows about one school at `now`.
struct SchoolFacts {
    int terminals = 0;                     // enabled alarm terminals of the school
    int terminals_online = 0;              // of those, online now
    std::optional<UnixMicros> last_seen;   // the latest heartbeat/frame of any of them
    std::optional<UnixMicros> last_alarm;  // the latest incident (alarm or drill) from the school
    std::optional<UnixMicros> last_drill;  // the latest drill incident
    // Guard-post compliance over the last 30 days: scheduled and present minutes.
    long long guard_scheduled_min = 0;
    long long guard_present_min = 0;
};

struct AutoItem {
    std::string code;
    std::string result;  // pass | fail | na
    std::string reason;
};

inline constexpr UnixMicros kDay = 86400LL * kMicrosPerSecond;
inline constexpr UnixMicros kLinkedWindow = kDay;          // alarm_linked: seen in the last day
inline constexpr UnixMicros kTestedWindow = 90 * kDay;     // alarm_tested
inline constexpr UnixMicros kGuardPostWindow = 30 * kDay;  // guard_post_peak, report compliance
inline constexpr double kGuardPostPassPct = 90.0;

// The start of the school term that `now` falls in: the autumn term runs from
// 1 September to the end of January, the spring term from 1 February to the
// end of August (summer holidays count with the spring term). Local midnight
// in `zone`, the city's calendar (config calendar.tz, from the tz database).
UnixMicros term_start(UnixMicros now, const TimeZone& zone);

// Guard-post compliance in percent (two decimals), nothing when no minute was scheduled.
std::optional<double> guard_post_pct(const SchoolFacts& facts);

// The four auto items, in checklist order; terms begin in `calendar`'s local time.
std::vector<AutoItem> auto_items(const SchoolFacts& facts, UnixMicros now,
                                 const TimeZone& calendar);

}  // namespace huxiao::inspection
