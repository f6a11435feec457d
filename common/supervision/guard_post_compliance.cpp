#include "common/supervision/guard_post_compliance.hpp"

#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdio>

#include "common/geo/geo.hpp"

namespace huxiao::supervision {

namespace {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;

constexpr int kMinutesPerDay = 24 * 60;

std::string window_text(const GuardPost& post, std::size_t i) {
    if (i < post.window_texts.size()) return post.window_texts[i];
    const MinuteWindow& w = post.windows[i];
    char buf[32];  // room for any int, though windows are within 00:00-24:00
    std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", w.begin_min / 60, w.begin_min % 60,
                  w.end_min / 60, w.end_min % 60);
    return buf;
}

// The held position at `x` (see the header), or nullptr.
const PositionSample* held_at(std::span<const PositionSample> samples, TimePoint x, seconds hold) {
    const auto after =
        std::upper_bound(samples.begin(), samples.end(), x,
                         [](TimePoint t, const PositionSample& s) { return t < s.at; });
    if (after == samples.begin()) return nullptr;
    const PositionSample& s = *(after - 1);
    return x - s.at <= hold ? &s : nullptr;
}

// The scheduled days that can have minutes in [from, to): a window crossing
// midnight belongs to the day before the minutes it covers, so one day early.
// `fn(day, window index, begin, end)`, minutes after the day's local midnight
// (end > 1440 for a window crossing midnight).
template <typename Fn>
void for_each_scheduled_window(const GuardPost& post, const TimeZone& zone, TimePoint from,
                               TimePoint to, Fn&& fn) {
    if (from >= to) return;
    const sys_days first = zone.local_date(from) - days{1};
    const sys_days last = zone.local_date(to - Micros{1});
    for (sys_days day = first; day <= last; day += days{1}) {
        const int weekday = static_cast<int>(std::chrono::weekday{day}.iso_encoding()) - 1;
        if (((post.weekday_mask >> weekday) & 1U) == 0) continue;
        for (std::size_t i = 0; i < post.windows.size(); ++i) {
            const MinuteWindow& w = post.windows[i];
            const int begin = std::clamp(w.begin_min, 0, kMinutesPerDay);
            int end = std::clamp(w.end_min, 0, kMinutesPerDay);
            if (end <= begin) end += kMinutesPerDay;
            fn(day, i, begin, end);
        }
    }
}

}  // namespace

std::pair<TimePoint, TimePoint> local_days_range(sys_days first, sys_days last,
                                                 const TimeZone& zone) {
    // A midnight that a forward change skips starts the day at the jump.
    return {zone.from_local(first, 0).at, zone.from_local(last + days{1}, 0).at};
}

double share_pct(int present_min, int scheduled_min) {
    if (scheduled_min <= 0) return 0;
    return std::round(10000.0 * present_min / scheduled_min) / 100.0;
}

std::vector<DayCompliance> guard_post_compliance(const GuardPost& post, GeoPoint school,
                                                 const TimeZone& zone,
                                                 std::span<const PositionSample> samples,
                                                 TimePoint from, TimePoint to,
                                                 const ComplianceRules& rules) {
    std::vector<DayCompliance> out;
    // Minutes of the day (and of the next, for windows crossing midnight)
    // already counted in the day's totals.
    std::bitset<2 * kMinutesPerDay> scheduled, present;
    DayCompliance d;
    const auto close_day = [&] {
        if (!d.windows.empty()) {
            d.scheduled_min = static_cast<int>(scheduled.count());
            d.present_min = static_cast<int>(present.count());
            out.push_back(std::move(d));
        }
        d = DayCompliance{};
        scheduled.reset();
        present.reset();
    };
    for_each_scheduled_window(
        post, zone, from, to, [&](sys_days day, std::size_t i, int begin, int end) {
            if (day != d.date) close_day();
            d.date = day;
            WindowCompliance wc;
            for (int m = begin; m < end; ++m) {
                const LocalInstant local = zone.from_local(day, m);
                const TimePoint start = local.at;
                if (local.skipped || start < from || start >= to) continue;
                ++wc.scheduled_min;
                const auto idx = static_cast<std::size_t>(m);
                scheduled.set(idx);
                const PositionSample* s = held_at(samples, start + seconds{30}, rules.hold);
                if (s && geo::haversine_m(s->position, school) <= rules.radius_m) {
                    ++wc.present_min;
                    present.set(idx);
                }
            }
            if (wc.scheduled_min == 0) return;
            wc.window = window_text(post, i);
            wc.missed = wc.present_min * 100 < rules.missed_below_pct * wc.scheduled_min;
            d.windows.push_back(std::move(wc));
        });
    close_day();
    return out;
}

std::vector<TimeSpan> sample_spans(const GuardPost& post, const TimeZone& zone, TimePoint from,
                                   TimePoint to, seconds hold) {
    std::vector<TimeSpan> spans;
    for_each_scheduled_window(post, zone, from, to,
                              [&](sys_days day, std::size_t, int begin, int end) {
                                  // Whatever a change of offset inside the window does, its
                                  // minutes lie in this span (the compliance loop reads each at
                                  // its own instant).
                                  const auto [begin_at, end_at] = zone.local_span(day, begin, end);
                                  const TimePoint first = std::max(from, begin_at);
                                  const TimePoint last = std::min(to, end_at);
                                  if (first < last) spans.emplace_back(first - hold, last);
                              });
    merge_spans(spans);
    return spans;
}

void merge_spans(std::vector<TimeSpan>& spans) {
    std::sort(spans.begin(), spans.end());
    std::size_t n = 0;
    for (const TimeSpan& s : spans) {
        if (n > 0 && s.first <= spans[n - 1].second) {
            spans[n - 1].second = std::max(spans[n - 1].second, s.second);
        } else {
            spans[n++] = s;
        }
    }
    spans.resize(n);
}

}  // namespace huxiao::supervision
