#include "common/util/time.hpp"

#include <algorithm>
#include <cstdio>

namespace huxiao {

namespace {

struct Civil {
    int year;
    unsigned month;
    unsigned day;
};

// Howard Hinnant's algorithms (public domain), valid for the whole int range.
Civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<int>(y + (m <= 2)), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Writes `value` as exactly `width` decimal digits, from the right.
void put_digits(char* out, unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

std::string format_iso(UnixMicros t, int fraction_digits) {
    const std::int64_t secs = floor_div(t, kMicrosPerSecond);
    const std::int64_t micros = t - secs * kMicrosPerSecond;
    const std::int64_t days = floor_div(secs, 86400);
    const std::int64_t sod = secs - days * 86400;
    const Civil c = civil_from_days(days);
    const int h = static_cast<int>(sod / 3600), mi = static_cast<int>(sod / 60 % 60),
              s = static_cast<int>(sod % 60);
    const unsigned fraction = static_cast<unsigned>(fraction_digits == 3 ? micros / 1000 : micros);
    if (c.year >= 0 && c.year <= 9999) {
        // Several per alarm (its record's times, the ack path's logs): by
        // hand, since snprintf's format parsing cost more than the rest of
        // the alarm's time handling together (docs/performance.md §4.5).
        char buf[27] = "0000-00-00T00:00:00.000000";
        put_digits(buf, static_cast<unsigned>(c.year), 4);
        put_digits(buf + 5, c.month, 2);
        put_digits(buf + 8, c.day, 2);
        put_digits(buf + 11, static_cast<unsigned>(h), 2);
        put_digits(buf + 14, static_cast<unsigned>(mi), 2);
        put_digits(buf + 17, static_cast<unsigned>(s), 2);
        put_digits(buf + 20, fraction, fraction_digits);
        buf[20 + fraction_digits] = 'Z';
        return std::string(buf, static_cast<std::size_t>(21 + fraction_digits));
    }
    char buf[64];
    if (fraction_digits == 3) {
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03uZ", c.year, c.month,
                      c.day, h, mi, s, fraction);
    } else {
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06uZ", c.year, c.month,
                      c.day, h, mi, s, fraction);
    }
    return buf;
}

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + (text[i] - '0');
    }
    out = value;
    return true;
}

}  // namespace

std::int64_t days_from_civil(int year, unsigned month, unsigned day) {
    const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string format_iso_millis(UnixMicros t) { return format_iso(t, 3); }
std::string format_iso_micros(UnixMicros t) { return format_iso(t, 6); }

std::optional<UnixMicros> parse_iso8601(std::string_view text) {
    int year, month, day, hour, minute, second;
    if (text.size() < 20 || !read_digits(text, 0, 4, year) || text[4] != '-' ||
        !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        !read_digits(text, 11, 2, hour) || text[13] != ':' || !read_digits(text, 14, 2, minute) ||
        text[16] != ':' || !read_digits(text, 17, 2, second)) {
        return std::nullopt;
    }
    static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] ||
        (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    std::int64_t micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) micros = micros * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 6; ++i) micros *= 10;
    }
    std::int64_t offset_s = 0;
    if (pos == text.size()) return std::nullopt;  // a zone is required
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        int oh, om;
        if (!read_digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !read_digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_s = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    const std::int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const std::int64_t secs =
        days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) - offset_s;
    // Years 0001 to 9999 in UTC only: PostgreSQL refuses year 0000, and a time
    // that an offset carries outside this range cannot be written back in
    // this format; neither would be a real clock's reading.
    static const std::int64_t kFirstSecond = days_from_civil(1, 1, 1) * 86400;
    static const std::int64_t kEndSecond = days_from_civil(10000, 1, 1) * 86400;
    if (secs < kFirstSecond || secs >= kEndSecond) return std::nullopt;
    return secs * kMicrosPerSecond + micros;
}

}  // namespace huxiao
