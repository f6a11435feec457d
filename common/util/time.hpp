// Wall-clock instants as they cross huxiao's boundaries: microseconds since
// the Unix epoch (UTC), formatted as ISO-8601 with a `Z` suffix. The domain
// never reads a clock itself; the shell passes `now` in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace huxiao {

// Microseconds since 1970-01-01T00:00:00Z.
using UnixMicros = std::int64_t;

constexpr UnixMicros kMicrosPerSecond = 1'000'000;

// "2026-09-01T07:30:00.123Z"
std::string format_iso_millis(UnixMicros t);
// "2026-09-01T07:30:00.123456Z"
std::string format_iso_micros(UnixMicros t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)". Returns nothing for any
// other shape, an impossible date, or a time outside the years 0001-9999 (UTC).
std::optional<UnixMicros> parse_iso8601(std::string_view text);

// Days since the epoch for a civil date (proleptic Gregorian), and back.
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace huxiao
