#include "common/inspection/auto_items.hpp"

#include <cmath>
#include <cstdio>

namespace huxiao::inspection {

namespace {

// The civil date of a day number (Howard Hinnant's algorithm), for the term.
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::string days_ago(UnixMicros at, UnixMicros now) {
    const double d = static_cast<double>(now - at) / static_cast<double>(kDay);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f days ago", d < 0 ? 0.0 : d);
    return buf;
}

}  // namespace

UnixMicros term_start(UnixMicros now, int utc_offset_min) {
    const UnixMicros offset = static_cast<UnixMicros>(utc_offset_min) * 60 * kMicrosPerSecond;
    int y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(floor_div(now + offset, kDay), y, m, d);
    unsigned start_month = 9;
    if (m < 2) {
        y -= 1;  // January: still the autumn term that began last September
    } else if (m < 9) {
        start_month = 2;
    }
    return days_from_civil(y, start_month, 1) * kDay - offset;
}

std::optional<double> guard_post_pct(const SchoolFacts& facts) {
    if (facts.guard_scheduled_min <= 0) return std::nullopt;
    return std::round(10000.0 * static_cast<double>(facts.guard_present_min) /
                      static_cast<double>(facts.guard_scheduled_min)) /
           100.0;
}

std::vector<AutoItem> auto_items(const SchoolFacts& f, UnixMicros now) {
    std::vector<AutoItem> out;

    AutoItem linked{"alarm_linked", "fail", ""};
    if (f.terminals == 0) {
        linked.reason = "the school has no enabled alarm terminal";
    } else if (f.terminals_online == 0) {
        linked.reason = "no alarm terminal of the school is online";
    } else if (!f.last_seen || *f.last_seen < now - kLinkedWindow) {
        linked.reason = "online, but not seen in the last day";
    } else {
        linked.result = "pass";
        linked.reason = std::to_string(f.terminals_online) + " of " + std::to_string(f.terminals) +
                        " terminals online, last seen " + format_iso_millis(*f.last_seen);
    }
    out.push_back(std::move(linked));

    AutoItem tested{"alarm_tested", "fail", ""};
    if (f.last_alarm && *f.last_alarm >= now - kTestedWindow) {
        tested.result = "pass";
        tested.reason = "last alarm or drill " + days_ago(*f.last_alarm, now);
    } else {
        tested.reason = f.last_alarm ? "last alarm or drill " + days_ago(*f.last_alarm, now)
                                     : "no alarm or drill from the school on record";
    }
    out.push_back(std::move(tested));

    AutoItem guard{"guard_post_peak", "na", "no guard post scheduled in the last 30 days"};
    if (const auto pct = guard_post_pct(f)) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "guard posts present %.2f %% of %lld scheduled minutes",
                      *pct, f.guard_scheduled_min);
        guard.result = *pct >= kGuardPostPassPct ? "pass" : "fail";
        guard.reason = buf;
    }
    out.push_back(std::move(guard));

    AutoItem drill{"drill_held", "fail", ""};
    const UnixMicros term = term_start(now);
    if (f.last_drill && *f.last_drill >= term) {
        drill.result = "pass";
        drill.reason = "drill at " + format_iso_millis(*f.last_drill);
    } else {
        drill.reason = "no drill since the term began (" + format_iso_millis(term) + ")";
    }
    out.push_back(std::move(drill));
    return out;
}

}  // namespace huxiao::inspection
