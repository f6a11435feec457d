#include "tools/bench/make_certs.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>

#include "tests/support/certs.hpp"
#include "tools/bench/load.hpp"

namespace huxiao::bench {

void make_certs(const std::filesystem::path& dir, int terminals, const std::string& prefix,
                const std::string& school_prefix) {
    // server-ca.crt, server.crt/.key (CN localhost, SAN 127.0.0.1), terminal-ca.crt
    test::CertFactory certs(dir);
    nlohmann::json schools = nlohmann::json::array();
    nlohmann::json registry_terminals = nlohmann::json::array();
    for (int i = 1; i <= terminals; ++i) {
        const std::string terminal = terminal_id(prefix, i);
        const std::string school = terminal_id(school_prefix, i);
        certs.terminal(terminal);  // <terminal>.crt and <terminal>.key
        // A grid over Wuhan, roughly 1.3 km apart.
        schools.push_back({{"id", school},
                           {"name", "Bench school " + std::to_string(i)},
                           {"district", "D-BENCH"},
                           {"lat", 30.45 + 0.012 * (i % 25)},
                           {"lon", 114.15 + 0.012 * (i / 25)}});
        registry_terminals.push_back({{"id", terminal}, {"school", school}, {"enabled", true}});
    }
    const nlohmann::json registry = {
        {"districts", {{{"id", "D-BENCH"}, {"name", "Bench district"}, {"sla", {{"arrival_s", 300}}}}}},
        {"schools", schools},
        {"terminals", registry_terminals},
        {"units", nlohmann::json::array()},
        {"guard_posts", nlohmann::json::array()},
    };
    std::ofstream out(dir / "registry.json");
    out << registry.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + (dir / "registry.json").string());
}

}  // namespace huxiao::bench
