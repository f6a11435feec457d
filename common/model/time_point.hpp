// Server time as the dispatch core sees it. The core never reads a clock: the
// shell passes `now` into every call, which keeps the core deterministic and
// lets tests drive time by hand. Microsecond precision matches the timeline's
// `at` (contract §6), so a value survives a round trip through PostgreSQL's
// timestamptz unchanged. At the boundaries (frames, SQL) times are plain
// microseconds since the epoch (common/util/time.hpp's UnixMicros):
// to_unix_micros / from_unix_micros convert.
#pragma once

#include <chrono>
#include <cstdint>

namespace huxiao {

using Micros = std::chrono::microseconds;
using TimePoint = std::chrono::sys_time<Micros>;

// The shell's clock: system_clock truncated to microseconds.
inline TimePoint clock_now() {
    return std::chrono::time_point_cast<Micros>(std::chrono::system_clock::now());
}

constexpr std::int64_t to_unix_micros(TimePoint t) { return t.time_since_epoch().count(); }
constexpr TimePoint from_unix_micros(std::int64_t us) { return TimePoint{Micros{us}}; }

}  // namespace huxiao
