// Fuzz target: the pure part of HTTP request handling (contract §5). The
// input is a request-target as a client sends it ("/api/v1/incidents?from=…");
// it is split and percent-decoded as ApiRouter does, and every parameter
// value goes through the parsers the endpoints use for times. A bad target
// must give a map of strings, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/protocol/request_target.hpp"
#include "common/util/time.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    const huxiao::RequestTarget parsed = huxiao::split_request_target(target);
    HUXIAO_FUZZ_CHECK(parsed.path.size() <= target.size());
    HUXIAO_FUZZ_CHECK(target.substr(0, parsed.path.size()) == parsed.path);
    HUXIAO_FUZZ_CHECK(parsed.path.find('?') == std::string::npos);
    for (const auto& [name, value] : parsed.query) {
        // Decoding never makes text longer.
        HUXIAO_FUZZ_CHECK(name.size() + value.size() <= target.size());
        if (const auto t = huxiao::parse_iso8601(value)) {
            // A time that parses formats back into one that parses to the same
            // instant. Offsets can push the years 0000 and 9999 out of the
            // four-digit range, which the format cannot express; those are left out.
            const std::int64_t day = *t / (86400 * huxiao::kMicrosPerSecond);
            if (day > huxiao::days_from_civil(1, 1, 1) &&
                day < huxiao::days_from_civil(9999, 12, 31)) {
                HUXIAO_FUZZ_CHECK(huxiao::parse_iso8601(huxiao::format_iso_micros(*t)) == t);
            }
        }
    }
    return 0;
}
