// huxiao-bench --make-certs: a bench registry with certificates, made
// in-process (500 EC keys take well under a second, the openssl CLI minutes).
#pragma once

#include <filesystem>
#include <string>

namespace huxiao::bench {

// Writes into `dir`: server-ca.crt, server.crt, server.key, terminal-ca.crt,
// <TERMINAL>.crt/.key for `terminals` terminals named terminal_id(prefix, i),
// and registry.json (contract §7): one district D-BENCH, one school per
// terminal (terminal_id(school_prefix, i)), and `units` patrol units
// (terminal_id(unit_prefix, i)) at unit_home(i, units), spread over the
// schools' area (no guard posts).
void make_certs(const std::filesystem::path& dir, int terminals, const std::string& prefix,
                const std::string& school_prefix, int units = 0,
                const std::string& unit_prefix = "P-B");

struct LatLon {
    double lat = 0;
    double lon = 0;
};

// Where bench school i (1-based) is: a grid over Wuhan, roughly 1.3 km apart
// (25 rows of latitude, as many columns as needed).
LatLon school_location(int i);

// Where bench unit i (1-based) of `units` is: a grid over the same area as
// 500 schools, offset from the schools by about half a cell so that no unit
// starts inside a school's arrival radius.
LatLon unit_home(int i, int units);

}  // namespace huxiao::bench
