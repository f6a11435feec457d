// Fuzz target: the registry import file (contract §7,
// common/model/registry_import). Any input yields either a registry whose
// records are all valid or a list of errors; nothing is imported from a file
// with errors, so only the first case is checked record by record.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/model/registry_import.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    // Ids an earlier import registered, which the file may refer to.
    const huxiao::KnownIds known{{"D-1"}, {"S-1"}, {"P-1"}};
    const huxiao::RegistryParse parsed = huxiao::parse_registry(text, known);
    for (const auto& e : parsed.errors) HUXIAO_FUZZ_CHECK(!e.empty());
    if (!parsed.errors.empty()) return 0;
    const auto& r = parsed.registry;
    for (const auto& s : r.schools) {
        HUXIAO_FUZZ_CHECK(huxiao::terminal::is_valid_id(s.id));
        HUXIAO_FUZZ_CHECK(s.location.lat >= -90 && s.location.lat <= 90);
        HUXIAO_FUZZ_CHECK(s.location.lon >= -180 && s.location.lon <= 180);
    }
    for (const auto& t : r.terminals) HUXIAO_FUZZ_CHECK(huxiao::terminal::is_valid_id(t.id));
    for (const auto& u : r.units) HUXIAO_FUZZ_CHECK(huxiao::terminal::is_valid_id(u.id));
    for (const auto& g : r.guard_posts) {
        HUXIAO_FUZZ_CHECK(g.weekday_mask != 0 && g.weekday_mask <= 0x7F);
        HUXIAO_FUZZ_CHECK(!g.windows.empty() && g.windows.size() == g.window_texts.size());
        for (const auto& w : g.windows) {
            HUXIAO_FUZZ_CHECK(0 <= w.begin_min && w.begin_min < w.end_min && w.end_min <= 24 * 60);
        }
    }
    return 0;
}
