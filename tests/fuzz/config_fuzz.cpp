// Fuzz target: the configuration file (contract §2, common/config). Any
// input is either a Config whose values lie in their documented ranges or a
// ConfigError naming the problem; any other exception escaping parse_config
// would turn a typo in a config file into an unexplained start-up crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const huxiao::Config c = huxiao::parse_config(text, "/etc/huxiao", std::nullopt);
        HUXIAO_FUZZ_CHECK(!c.database.url.empty());
        HUXIAO_FUZZ_CHECK(c.terminal_listener.port >= 0 && c.terminal_listener.port <= 65535);
        HUXIAO_FUZZ_CHECK(c.api_listener.port >= 0 && c.api_listener.port <= 65535);
        HUXIAO_FUZZ_CHECK(c.terminal_listener.cert.is_absolute());
        HUXIAO_FUZZ_CHECK(c.api_listener.key.is_absolute());
        HUXIAO_FUZZ_CHECK(c.dispatch.offer_timeout_s >= 1);
        for (const auto& [kind, n] : c.dispatch.units_required) {
            HUXIAO_FUZZ_CHECK(huxiao::is_alarm_kind(kind) && n >= 1 && n <= 20);
        }
    } catch (const huxiao::ConfigError& e) {
        HUXIAO_FUZZ_CHECK(std::string(e.what()).find(": ") != std::string::npos);
    }
    return 0;
}
