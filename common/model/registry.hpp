// The registry: districts, schools, terminals, patrol units and guard posts
// (contract §7). It changes rarely (import, admin API), so the running server
// holds an immutable snapshot and replaces it whole on change.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace huxiao {

struct GeoPoint {
    double lat = 0;
    double lon = 0;
};

struct SlaOverride {
    std::optional<int> ack_s;
    std::optional<int> arrival_s;
};

struct District {
    std::string id;
    std::string name;
    SlaOverride sla;
};

struct School {
    std::string id;
    std::string name;
    std::string district;
    GeoPoint location;
};

// How an SIA DC-09 panel identifies itself (contract §9): its account, and
// the receiver and line numbers it is set up with (empty: any).
struct Dc09Identity {
    std::string account;   // 3-16 hex digits
    std::string receiver;  // "R1" or empty
    std::string line;      // "L1" or empty
    std::string key_hex;   // AES-128/192/256 key; empty: plain messages only. Never sent out.
};

struct Terminal {
    std::string id;
    std::string school;
    bool enabled = true;
    std::optional<Dc09Identity> dc09{};  // {}: aggregate initialisers elsewhere may leave it out
};

struct Unit {
    std::string id;
    std::string callsign;
    std::string district;
    GeoPoint home;  // where the unit is assumed to be until it reports a position
    // A disabled unit (out of service for good, or its device lost) is not
    // loaded: its sessions end and it is offered nothing.
    bool enabled = true;
};

// A daily window in local minutes since midnight, e.g. 07:00-08:30 = [420, 510).
struct MinuteWindow {
    int begin_min = 0;
    int end_min = 0;
};

struct GuardPost {
    std::string school;
    std::string unit;
    std::string days;                       // as written, e.g. "mon-fri"
    unsigned weekday_mask = 0;              // bit 0 = Monday ... bit 6 = Sunday
    std::vector<MinuteWindow> windows;      // local time of `tz`
    std::string tz;                         // IANA zone, e.g. "Asia/Shanghai"
    std::vector<std::string> window_texts;  // as written, e.g. "07:00-08:30"
};

struct Registry {
    std::vector<District> districts;
    std::vector<School> schools;
    std::vector<Terminal> terminals;
    std::vector<Unit> units;
    std::vector<GuardPost> guard_posts;
};

}  // namespace huxiao
