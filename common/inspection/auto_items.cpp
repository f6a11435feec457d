#include "common/inspection/auto_items.hpp"

#include <cmath>
#include <cstdio>

namespace huxiao::inspection {

namespace {

std::string days_ago(UnixMicros at, UnixMicros now) {
    const double d = static_cast<double>(now - at) / static_cast<double>(kDay);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f days ago", d < 0 ? 0.0 : d);
    return buf;
}

}  // namespace

UnixMicros term_start(UnixMicros now, const TimeZone& zone) {
    using namespace std::chrono;
    const year_month_day today{zone.local_date(from_unix_micros(now))};
    year y = today.year();
    month start_month = September;
    if (today.month() < February) {
        y -= years{1};  // January: still the autumn term that began last September
    } else if (today.month() < September) {
        start_month = February;
    }
    return to_unix_micros(zone.from_local(sys_days{y / start_month / 1}, 0).at);
}

std::optional<double> guard_post_pct(const SchoolFacts& facts) {
    if (facts.guard_scheduled_min <= 0) return std::nullopt;
    return std::round(10000.0 * static_cast<double>(facts.guard_present_min) /
                      static_cast<double>(facts.guard_scheduled_min)) /
           100.0;
}

std::vector<AutoItem> auto_items(const SchoolFacts& f, UnixMicros now, const TimeZone& calendar) {
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
    const UnixMicros term = term_start(now, calendar);
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
