// ISO-8601 formatting and parsing, civil-date arithmetic (common/util/time)
// and the token bucket (common/util/token_bucket).
#include "common/util/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/util/token_bucket.hpp"

namespace huxiao {
namespace {

constexpr UnixMicros kSecond = kMicrosPerSecond;
constexpr UnixMicros kDay = 86400 * kSecond;
// 2026-09-01T07:30:00Z (contract §3's example), computed independently.
constexpr UnixMicros kExample = 1'788'247'800 * kSecond;

// ---------------------------------------------------------------- days_from_civil

TEST(DaysFromCivil, EpochIsDayZero) {
    EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
    EXPECT_EQ(days_from_civil(1970, 1, 2), 1);
    EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
}

TEST(DaysFromCivil, KnownDates) {
    EXPECT_EQ(days_from_civil(2026, 9, 1), 20697);
    EXPECT_EQ(days_from_civil(2000, 2, 29), 11016);
    EXPECT_EQ(days_from_civil(2024, 2, 29), 19782);
    EXPECT_EQ(days_from_civil(1900, 3, 1), -25508);
    EXPECT_EQ(days_from_civil(1, 1, 1), -719162);
    EXPECT_EQ(days_from_civil(9999, 12, 31), 2932896);
}

TEST(DaysFromCivil, LeapYearRules) {
    // Divisible by 4: leap. By 100: not. By 400: leap again.
    EXPECT_EQ(days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28), 2);
    EXPECT_EQ(days_from_civil(2023, 3, 1) - days_from_civil(2023, 2, 28), 1);
    EXPECT_EQ(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28), 1);
    EXPECT_EQ(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
    EXPECT_EQ(days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28), 1);
    EXPECT_EQ(days_from_civil(2025, 1, 1) - days_from_civil(2024, 1, 1), 366);
    EXPECT_EQ(days_from_civil(2026, 1, 1) - days_from_civil(2025, 1, 1), 365);
}

TEST(DaysFromCivil, AgreesWithStdChronoOverFourCenturies) {
    using namespace std::chrono;
    for (int y = 1800; y <= 2200; ++y) {
        for (unsigned m = 1; m <= 12; ++m) {
            const year_month_day_last last{year{y} / month{m} / std::chrono::last};
            for (unsigned d = 1; d <= static_cast<unsigned>(last.day()); ++d) {
                const sys_days expected{year{y} / month{m} / day{d}};
                ASSERT_EQ(days_from_civil(y, m, d), expected.time_since_epoch().count())
                    << y << "-" << m << "-" << d;
            }
        }
    }
}

// ---------------------------------------------------------------- formatting

TEST(FormatIso, MillisAndMicrosOfTheContractExample) {
    EXPECT_EQ(format_iso_millis(kExample), "2026-09-01T07:30:00.000Z");
    EXPECT_EQ(format_iso_micros(kExample), "2026-09-01T07:30:00.000000Z");
    EXPECT_EQ(format_iso_millis(kExample + 123'456), "2026-09-01T07:30:00.123Z");
    EXPECT_EQ(format_iso_micros(kExample + 123'456), "2026-09-01T07:30:00.123456Z");
}

TEST(FormatIso, MillisTruncateRatherThanRound) {
    EXPECT_EQ(format_iso_millis(kExample + 999'999), "2026-09-01T07:30:00.999Z");
    EXPECT_EQ(format_iso_millis(kExample + 999), "2026-09-01T07:30:00.000Z");
}

TEST(FormatIso, Epoch) {
    EXPECT_EQ(format_iso_millis(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_iso_micros(1), "1970-01-01T00:00:00.000001Z");
}

TEST(FormatIso, BeforeTheEpochFloorsToThePreviousSecond) {
    EXPECT_EQ(format_iso_micros(-1), "1969-12-31T23:59:59.999999Z");
    EXPECT_EQ(format_iso_millis(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(format_iso_micros(-kSecond), "1969-12-31T23:59:59.000000Z");
    EXPECT_EQ(format_iso_micros(-kDay), "1969-12-31T00:00:00.000000Z");
}

TEST(FormatIso, SameTextAsPrintfAcrossTheRange) {
    // format_iso writes its digits by hand for years 0000-9999 and falls
    // back to snprintf outside: both give what the printf format did.
    const auto printf_iso = [](UnixMicros t, bool micros) {
        const std::int64_t secs = t / kSecond - (t % kSecond < 0);
        const std::int64_t us = t - secs * kSecond;
        const std::int64_t days = secs / 86400 - (secs % 86400 < 0);
        const std::int64_t sod = secs - days * 86400;
        // civil date of `days` through days_from_civil, searching by year
        int year = static_cast<int>(1970 + days / 366);
        while (days_from_civil(year + 1, 1, 1) <= days) ++year;
        while (days_from_civil(year, 1, 1) > days) --year;
        unsigned month = 1;
        while (month < 12 && days_from_civil(year, month + 1, 1) <= days) ++month;
        const auto day = static_cast<unsigned>(days - days_from_civil(year, month, 1) + 1);
        char buf[64];
        std::snprintf(
            buf, sizeof buf,
            micros ? "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ" : "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
            year, month, day, static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
            static_cast<int>(sod % 60), static_cast<int>(micros ? us : us / 1000));
        return std::string(buf);
    };
    std::vector<UnixMicros> times = {0,
                                     -1,
                                     1,
                                     kExample,
                                     kExample + 123'456,
                                     kExample + 999'999,
                                     days_from_civil(1, 1, 1) * kDay,
                                     days_from_civil(9999, 12, 31) * kDay + kDay - 1,
                                     days_from_civil(10000, 1, 1) * kDay,
                                     days_from_civil(12345, 6, 7) * kDay + 42,
                                     days_from_civil(0, 1, 1) * kDay,
                                     days_from_civil(-1, 12, 31) * kDay + 5 * kSecond};
    std::uint64_t x = 88172645463325252ULL;  // xorshift: a fixed spread of instants
    for (int i = 0; i < 2000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        times.push_back(static_cast<UnixMicros>(x % (400ULL * 366 * 86400 * 1'000'000)) -
                        200LL * 366 * 86400 * 1'000'000);
    }
    for (const UnixMicros t : times) {
        EXPECT_EQ(format_iso_micros(t), printf_iso(t, true)) << t;
        EXPECT_EQ(format_iso_millis(t), printf_iso(t, false)) << t;
    }
    EXPECT_EQ(format_iso_millis(days_from_civil(12345, 6, 7) * kDay), "12345-06-07T00:00:00.000Z");
    EXPECT_EQ(format_iso_millis(days_from_civil(-1, 12, 31) * kDay), "-001-12-31T00:00:00.000Z");
}

TEST(FormatIso, LeapDayAndEndOfDay) {
    const UnixMicros leap_day = days_from_civil(2024, 2, 29) * kDay;
    EXPECT_EQ(format_iso_micros(leap_day), "2024-02-29T00:00:00.000000Z");
    EXPECT_EQ(format_iso_micros(leap_day + kDay - 1), "2024-02-29T23:59:59.999999Z");
    EXPECT_EQ(format_iso_micros(leap_day + kDay), "2024-03-01T00:00:00.000000Z");
    const UnixMicros y2100 = days_from_civil(2100, 2, 28) * kDay;
    EXPECT_EQ(format_iso_millis(y2100 + kDay), "2100-03-01T00:00:00.000Z");
}

TEST(FormatIso, MicrosRoundTripThroughParse) {
    for (UnixMicros t : {UnixMicros{0}, UnixMicros{-1}, kExample, kExample + 7,
                         kExample + 86'399 * kSecond + 999'999, days_from_civil(2000, 2, 29) * kDay,
                         days_from_civil(1, 1, 1) * kDay, days_from_civil(9999, 12, 31) * kDay}) {
        const auto parsed = parse_iso8601(format_iso_micros(t));
        ASSERT_TRUE(parsed.has_value()) << format_iso_micros(t);
        EXPECT_EQ(*parsed, t) << format_iso_micros(t);
    }
}

// ---------------------------------------------------------------- parsing

TEST(ParseIso, ZuluWithoutFraction) {
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00Z"), kExample);
    EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
}

TEST(ParseIso, LowerCaseZAndTAndSpaceSeparator) {
    EXPECT_EQ(parse_iso8601("2026-09-01t07:30:00z"), kExample);
    EXPECT_EQ(parse_iso8601("2026-09-01 07:30:00Z"), kExample);
}

TEST(ParseIso, FractionsOfAnyLengthUpToMicrosAndTruncatedBeyond) {
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.1Z"), kExample + 100'000);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.12Z"), kExample + 120'000);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.123Z"), kExample + 123'000);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.123456Z"), kExample + 123'456);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.000001Z"), kExample + 1);
    // Nanoseconds are accepted; the digits past the sixth are dropped.
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.123456789Z"), kExample + 123'456);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00.9999999Z"), kExample + 999'999);
}

TEST(ParseIso, PositiveAndNegativeOffsets) {
    // 15:30 in Shanghai is 07:30 UTC.
    EXPECT_EQ(parse_iso8601("2026-09-01T15:30:00+08:00"), kExample);
    EXPECT_EQ(parse_iso8601("2026-09-01T02:00:00-05:30"), kExample);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00+00:00"), kExample);
    EXPECT_EQ(parse_iso8601("2026-09-01T07:30:00-00:00"), kExample);
    EXPECT_EQ(parse_iso8601("2026-09-01T15:30:00.250+08:00"), kExample + 250'000);
}

TEST(ParseIso, OffsetsCrossDayMonthAndYearBoundaries) {
    // 2027-01-01T05:00+08:00 = 2026-12-31T21:00Z
    EXPECT_EQ(parse_iso8601("2027-01-01T05:00:00+08:00"),
              days_from_civil(2026, 12, 31) * kDay + 21 * 3600 * kSecond);
    // 2024-02-28T22:00-03:00 = 2024-02-29T01:00Z
    EXPECT_EQ(parse_iso8601("2024-02-28T22:00:00-03:00"),
              days_from_civil(2024, 2, 29) * kDay + 1 * 3600 * kSecond);
    EXPECT_EQ(parse_iso8601("2026-09-01T00:00:00+23:59"),
              days_from_civil(2026, 9, 1) * kDay - (23 * 3600 + 59 * 60) * kSecond);
}

TEST(ParseIso, LeapDays) {
    EXPECT_EQ(parse_iso8601("2024-02-29T00:00:00Z"), days_from_civil(2024, 2, 29) * kDay);
    EXPECT_EQ(parse_iso8601("2000-02-29T00:00:00Z"), days_from_civil(2000, 2, 29) * kDay);
    EXPECT_FALSE(parse_iso8601("2023-02-29T00:00:00Z").has_value());
    EXPECT_FALSE(parse_iso8601("1900-02-29T00:00:00Z").has_value());
    EXPECT_FALSE(parse_iso8601("2100-02-29T00:00:00Z").has_value());
    EXPECT_FALSE(parse_iso8601("2024-02-30T00:00:00Z").has_value());
}

TEST(ParseIso, DaysPerMonth) {
    EXPECT_TRUE(parse_iso8601("2026-01-31T00:00:00Z").has_value());
    EXPECT_TRUE(parse_iso8601("2026-12-31T00:00:00Z").has_value());
    for (const char* bad : {"2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z", "2026-09-31T00:00:00Z",
                            "2026-11-31T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-00T00:00:00Z",
                            "2026-00-10T00:00:00Z", "2026-13-01T00:00:00Z"}) {
        EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
    }
}

TEST(ParseIso, TimeFieldRanges) {
    EXPECT_TRUE(parse_iso8601("2026-09-01T23:59:59Z").has_value());
    EXPECT_FALSE(parse_iso8601("2026-09-01T24:00:00Z").has_value());
    EXPECT_FALSE(parse_iso8601("2026-09-01T07:60:00Z").has_value());
    EXPECT_FALSE(parse_iso8601("2026-09-01T07:30:61Z").has_value());
}

TEST(ParseIso, LeapSecondIsClampedToTheLastSecondOfTheMinute) {
    EXPECT_EQ(parse_iso8601("2016-12-31T23:59:60Z"), parse_iso8601("2016-12-31T23:59:59Z"));
    EXPECT_EQ(parse_iso8601("2016-12-31T23:59:60.5Z"), parse_iso8601("2016-12-31T23:59:59.5Z"));
}

TEST(ParseIso, ZoneIsRequired) {
    EXPECT_FALSE(parse_iso8601("2026-09-01T07:30:00").has_value());
    EXPECT_FALSE(parse_iso8601("2026-09-01T07:30:00.123").has_value());
}

TEST(ParseIso, MalformedOffsets) {
    for (const char* bad :
         {"2026-09-01T07:30:00+08", "2026-09-01T07:30:00+0800", "2026-09-01T07:30:00+8:00",
          "2026-09-01T07:30:00+08:0", "2026-09-01T07:30:00+24:00", "2026-09-01T07:30:00+08:60",
          "2026-09-01T07:30:00+", "2026-09-01T07:30:00 +08:00", "2026-09-01T07:30:00+08:00Z",
          "2026-09-01T07:30:00+08:00:00", "2026-09-01T07:30:00UTC", "2026-09-01T07:30:00*08:00"}) {
        EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
    }
}

TEST(ParseIso, MalformedShapes) {
    for (const char* bad : {"",
                            "Z",
                            "2026-09-01",
                            "2026-09-01T07:30Z",
                            "2026-09-01T07:30:00.Z",
                            "2026-9-01T07:30:00Z",
                            "2026-09-1T07:30:00Z",
                            "26-09-01T07:30:00Z",
                            "2026/09/01T07:30:00Z",
                            "2026-09-01X07:30:00Z",
                            "2026-09-01T07-30-00Z",
                            "2026-09-01T07:30:00ZZ",
                            "2026-09-01T07:30:00Z ",
                            " 2026-09-01T07:30:00Z",
                            "2026-09-01T07:30:00.12aZ",
                            "2026-09-01T07:30:00,123Z",
                            "+2026-09-01T07:30:00Z",
                            "2026-09-01T7:30:00Z",
                            "20a6-09-01T07:30:00Z",
                            "2026-09-01T07:30:0xZ",
                            "not a time at all!!"}) {
        EXPECT_FALSE(parse_iso8601(bad).has_value()) << '"' << bad << '"';
    }
}

TEST(ParseIso, EmbeddedNulIsNotIgnored) {
    const std::string with_nul("2026-09-01T07:30:00Z\0", 21);
    EXPECT_FALSE(parse_iso8601(with_nul).has_value());
}

TEST(ParseIso, YearsBeforeTheEpochAndFarFuture) {
    EXPECT_EQ(parse_iso8601("1969-12-31T23:59:59Z"), -kSecond);
    EXPECT_EQ(parse_iso8601("0001-01-01T00:00:00Z"), days_from_civil(1, 1, 1) * kDay);
    EXPECT_EQ(parse_iso8601("9999-12-31T23:59:59.999999Z"), (253'402'300'799 * kSecond) + 999'999);
}

TEST(ParseIso, TimesPostgreSqlCannotStoreAreRefused) {
    // Year 0000 does not exist in PostgreSQL; an offset can carry a valid
    // local time outside the years 0001-9999 in UTC.
    EXPECT_FALSE(parse_iso8601("0000-06-01T00:00:00Z").has_value());
    EXPECT_FALSE(parse_iso8601("0001-01-01T00:30:00+01:00").has_value());
    EXPECT_FALSE(parse_iso8601("9999-12-31T23:30:00-01:00").has_value());
    EXPECT_TRUE(parse_iso8601("0001-01-01T01:30:00+01:00").has_value());
    EXPECT_TRUE(parse_iso8601("9999-12-31T22:30:00-01:00").has_value());
}

// ---------------------------------------------------------------- TokenBucket

TEST(TokenBucket, StartsFullAndAllowsTheBurst) {
    TokenBucket bucket(1, 3);
    const UnixMicros t = kExample;
    EXPECT_TRUE(bucket.take(t));
    EXPECT_TRUE(bucket.take(t));
    EXPECT_TRUE(bucket.take(t));
    EXPECT_FALSE(bucket.take(t));
    EXPECT_FALSE(bucket.take(t));
}

TEST(TokenBucket, RefillsAtTheRate) {
    TokenBucket bucket(10, 2);  // one token per 100 ms
    const UnixMicros t = kExample;
    EXPECT_TRUE(bucket.take(t));
    EXPECT_TRUE(bucket.take(t));
    EXPECT_FALSE(bucket.take(t));
    EXPECT_TRUE(bucket.take(t + 100'000));  // exactly 1.0 token
    EXPECT_FALSE(bucket.take(t + 100'000));
    EXPECT_FALSE(bucket.take(t + 199'000));  // 0.99 token
    EXPECT_TRUE(bucket.take(t + 201'000));   // 1.01 tokens
    EXPECT_FALSE(bucket.take(t + 201'000));
}

TEST(TokenBucket, NeverHoldsMoreThanTheBurst) {
    TokenBucket bucket(5, 2);
    const UnixMicros t = kExample;
    EXPECT_TRUE(bucket.take(t));
    EXPECT_TRUE(bucket.take(t));
    const UnixMicros later = t + 3600 * kSecond;  // an hour idle
    EXPECT_TRUE(bucket.take(later));
    EXPECT_TRUE(bucket.take(later));
    EXPECT_FALSE(bucket.take(later));
}

TEST(TokenBucket, SustainedRateIsHonoured) {
    TokenBucket bucket(20, 40);  // the terminal listener's default
    UnixMicros t = kExample;
    int granted = 0;
    // 10 s of 100 frames per second: burst + 10 s * 20/s.
    for (int i = 0; i < 1000; ++i, t += 10'000) granted += bucket.take(t) ? 1 : 0;
    EXPECT_GE(granted, 40 + 199);
    EXPECT_LE(granted, 40 + 200);
}

TEST(TokenBucket, ClockGoingBackwardsGrantsNothingExtra) {
    TokenBucket bucket(1, 1);
    const UnixMicros t = kExample;
    EXPECT_TRUE(bucket.take(t));
    EXPECT_FALSE(bucket.take(t - 10 * kSecond));
    // Time is measured from the latest instant seen, not the earlier one.
    EXPECT_FALSE(bucket.take(t + 500'000));
    EXPECT_TRUE(bucket.take(t + kSecond));
}

TEST(TokenBucket, RefillsWhenTheClockStartsAtZero) {
    // A monotonic clock, or a test, may start at 0; that instant must count.
    TokenBucket bucket(1, 1);
    EXPECT_TRUE(bucket.take(0));
    EXPECT_FALSE(bucket.take(0));
    EXPECT_TRUE(bucket.take(kSecond));
    EXPECT_FALSE(bucket.take(kSecond));
    EXPECT_TRUE(bucket.take(2 * kSecond));
}

TEST(TokenBucket, FractionalBurstBelowOneNeverGrants) {
    TokenBucket bucket(0.5, 0.5);
    EXPECT_FALSE(bucket.take(kExample));
    EXPECT_FALSE(bucket.take(kExample + 100 * kSecond));
}

}  // namespace
}  // namespace huxiao
