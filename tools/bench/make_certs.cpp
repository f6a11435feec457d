#include "tools/bench/make_certs.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tests/support/certs.hpp"
#include "tools/bench/load.hpp"

namespace huxiao::bench {

LatLon school_location(int i) { return {30.45 + 0.012 * (i % 25), 114.15 + 0.012 * (i / 25)}; }

LatLon unit_home(int i, int units) {
    // The schools' area: 25 rows x 20 columns of 0.012 degrees (500 schools).
    // Units on a grid of rows x cols with the same aspect, cell centres.
    const int rows = std::max(1, static_cast<int>(std::lround(std::sqrt(units * 25.0 / 20.0))));
    const int cols = (units + rows - 1) / rows;
    const int k = i - 1;
    const double lat = 30.45 + 0.3 * ((k % rows) + 0.5) / rows - 0.006;
    const double lon = 114.15 + 0.24 * ((k / rows) + 0.5) / cols - 0.006;
    return {lat, lon};
}

void make_certs(const std::filesystem::path& dir, int terminals, const std::string& prefix,
                const std::string& school_prefix, int units, const std::string& unit_prefix) {
    // server-ca.crt, server.crt/.key (CN localhost, SAN 127.0.0.1), terminal-ca.crt
    test::CertFactory certs(dir);
    nlohmann::json schools = nlohmann::json::array();
    nlohmann::json registry_terminals = nlohmann::json::array();
    for (int i = 1; i <= terminals; ++i) {
        const std::string terminal = terminal_id(prefix, i);
        const std::string school = terminal_id(school_prefix, i);
        certs.terminal(terminal);  // <terminal>.crt and <terminal>.key
        const LatLon at = school_location(i);
        schools.push_back({{"id", school},
                           {"name", "Bench school " + std::to_string(i)},
                           {"district", "D-BENCH"},
                           {"lat", at.lat},
                           {"lon", at.lon}});
        registry_terminals.push_back({{"id", terminal}, {"school", school}, {"enabled", true}});
    }
    nlohmann::json registry_units = nlohmann::json::array();
    for (int i = 1; i <= units; ++i) {
        const LatLon home = unit_home(i, units);
        registry_units.push_back({{"id", terminal_id(unit_prefix, i)},
                                  {"district", "D-BENCH"},
                                  {"lat", home.lat},
                                  {"lon", home.lon}});
    }
    const nlohmann::json registry = {
        {"districts",
         {{{"id", "D-BENCH"}, {"name", "Bench district"}, {"sla", {{"arrival_s", 300}}}}}},
        {"schools", schools},
        {"terminals", registry_terminals},
        {"units", registry_units},
        {"guard_posts", nlohmann::json::array()},
    };
    std::ofstream out(dir / "registry.json");
    out << registry.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + (dir / "registry.json").string());
}

}  // namespace huxiao::bench
