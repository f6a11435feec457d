#include "common/config/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <variant>

#include "common/protocol/bounded_json.hpp"
#include "common/protocol/dc09_codes.hpp"
#include "common/util/time_zone.hpp"

namespace huxiao {

namespace {

using nlohmann::json;

constexpr std::array kAlarmKinds = {"intrusion", "assault",  "medical", "fire", "bullying",
                                    "self_harm", "drowning", "traffic", "other"};

// A key comes from the file and may hold any character: control characters
// (a NUL would cut the message short) are written as \u00XX.
std::string printable(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04X", b);
            out += escaped;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

[[noreturn]] void fail(const std::string& key, const std::string& message) {
    throw ConfigError(printable(key) + ": " + message);
}

// Walks one JSON object, hands each known key to its reader and rejects the
// rest, so that every error names the full dotted key.
class Section {
  public:
    Section(const json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {
        if (!object_.is_object()) fail(name(), "must be an object");
    }

    std::string key(const std::string& k) const { return prefix_.empty() ? k : prefix_ + "." + k; }
    const std::string& name() const { return prefix_.empty() ? kRoot : prefix_; }

    void integer(const std::string& k, int& out, int min, int max) {
        visit(k, [&](const json& v) {
            if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > max) {
                fail(key(k), "must be an integer between " + std::to_string(min) + " and " +
                                 std::to_string(max));
            }
            out = v.get<int>();
        });
    }

    void number(const std::string& k, double& out, double min, double max) {
        visit(k, [&](const json& v) {
            if (!v.is_number() || v.get<double>() < min || v.get<double>() > max) {
                std::ostringstream range;
                range << "must be a number between " << min << " and " << max;
                fail(key(k), range.str());
            }
            out = v.get<double>();
        });
    }

    void string(const std::string& k, std::string& out) {
        visit(k, [&](const json& v) {
            if (!v.is_string() || v.get<std::string>().empty()) {
                fail(key(k), "must be a non-empty string");
            }
            out = v.get<std::string>();
        });
    }

    void boolean(const std::string& k, bool& out) {
        visit(k, [&](const json& v) {
            if (!v.is_boolean()) fail(key(k), "must be true or false");
            out = v.get<bool>();
        });
    }

    void one_of(const std::string& k, std::string& out,
                std::initializer_list<const char*> allowed) {
        string(k, out);
        for (const char* a : allowed) {
            if (out == a) return;
        }
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(key(k), "must be one of " + list + " (got \"" + out + "\")");
    }

    void path(const std::string& k, std::filesystem::path& out, const std::filesystem::path& base) {
        std::string text;
        string(k, text);
        if (!text.empty()) {
            std::filesystem::path p(text);
            out = p.is_absolute() ? p : base / p;
        }
    }

    void section(const std::string& k, const std::function<void(Section&)>& read) {
        visit(k, [&](const json& v) {
            Section inner(v, key(k));
            read(inner);
            inner.reject_unknown();
        });
    }

    void raw(const std::string& k, const std::function<void(const json&)>& read) { visit(k, read); }

    void reject_unknown() const {
        for (auto it = object_.begin(); it != object_.end(); ++it) {
            if (!seen_.count(it.key())) fail(key(it.key()), "unknown key");
        }
    }

  private:
    void visit(const std::string& k, const std::function<void(const json&)>& read) {
        seen_.insert(k);
        if (auto it = object_.find(k); it != object_.end()) read(*it);
    }

    static inline const std::string kRoot = "(top level)";
    const json& object_;
    std::string prefix_;
    std::set<std::string> seen_;
};

void require(bool given, const std::string& key) {
    if (!given) fail(key, "is required");
}

}  // namespace

bool is_alarm_kind(const std::string& kind) {
    for (const char* k : kAlarmKinds) {
        if (kind == k) return true;
    }
    return false;
}

Config parse_config(const std::string& text, const std::filesystem::path& base_dir,
                    const std::optional<std::string>& database_url_override) {
    // nlohmann's parse errors and out_of_range (a number no double holds,
    // "1e400", found by tests/fuzz/config) both come back as JsonError.
    BoundedJson parsed = parse_bounded_json(text);
    if (auto* e = std::get_if<JsonError>(&parsed)) {
        // Every ConfigError reads "where: what".
        throw ConfigError(e->cause == JsonError::Cause::too_deep ? "(top level): " + e->message
                                                                 : e->message);
    }
    const json doc = std::move(std::get<json>(parsed));
    Config c;
    Section root(doc, "");
    root.section("database", [&](Section& s) {
        s.string("url", c.database.url);
        s.integer("pool_size", c.database.pool_size, 1, 64);
        s.integer("batch_max", c.database.batch_max, 1, 10000);
        s.integer("batches_in_flight", c.database.batches_in_flight, 1, 16);
        s.integer("alarm_commit_timeout_ms", c.database.alarm_commit_timeout_ms, 100, 60000);
        s.integer("connect_timeout_s", c.database.connect_timeout_s, 1, 60);
        s.string("read_url", c.database.read_url);
    });
    auto& t = c.terminal_listener;
    root.section("terminal_listener", [&](Section& s) {
        s.string("address", t.address);
        s.integer("port", t.port, 0, 65535);
        s.path("cert", t.cert, base_dir);
        s.path("key", t.key, base_dir);
        s.path("client_ca", t.client_ca, base_dir);
        s.integer("max_connections", t.max_connections, 1, 1'000'000);
        s.integer("max_frame_bytes", t.max_frame_bytes, 256, 1 << 20);
        s.integer("hello_timeout_s", t.hello_timeout_s, 1, 600);
        s.integer("max_frames_per_s", t.max_frames_per_s, 1, 10000);
        s.integer("max_unauthenticated", t.max_unauthenticated, 1, 1'000'000);
        s.integer("max_unauthenticated_per_address", t.max_unauthenticated_per_address, 1,
                  1'000'000);
        s.integer("handshake_timeout_s", t.handshake_timeout_s, 1, 600);
        s.integer("max_waiting", t.max_waiting, 0, 1'000'000);
        s.integer("max_waiting_per_address", t.max_waiting_per_address, 0, 1'000'000);
        s.integer("max_sessions_per_terminal", t.max_sessions_per_terminal, 1, 100);
        s.path("session_ticket_key", t.session_ticket_key, base_dir);
    });
    auto& a = c.api_listener;
    root.section("api_listener", [&](Section& s) {
        s.string("address", a.address);
        s.integer("port", a.port, 0, 65535);
        s.path("cert", a.cert, base_dir);
        s.path("key", a.key, base_dir);
        s.one_of("metrics", a.metrics, {"loopback", "token", "public"});
        s.integer("max_connections", a.max_connections, 1, 1'000'000);
        s.integer("max_unauthenticated", a.max_unauthenticated, 1, 1'000'000);
        s.integer("max_unauthenticated_per_address", a.max_unauthenticated_per_address, 1,
                  1'000'000);
        s.integer("handshake_timeout_s", a.handshake_timeout_s, 1, 600);
        s.integer("header_timeout_s", a.header_timeout_s, 1, 600);
        s.integer("body_timeout_s", a.body_timeout_s, 1, 3600);
        s.integer("idle_timeout_s", a.idle_timeout_s, 1, 86400);
        s.integer("ws_idle_timeout_s", a.ws_idle_timeout_s, 2, 86400);
        s.path("session_ticket_key", a.session_ticket_key, base_dir);
    });
    auto& dc = c.dc09_listener;
    root.section("dc09_listener", [&](Section& s) {
        s.boolean("enabled", dc.enabled);
        s.string("address", dc.address);
        s.integer("port", dc.port, 0, 65535);
        s.boolean("tcp", dc.tcp);
        s.boolean("udp", dc.udp);
        s.boolean("allow_plain", dc.allow_plain);
        s.section("max_skew_s", [&](Section& skew) {
            skew.integer("future", dc.max_future_s, 0, 3600);
            skew.integer("past", dc.max_past_s, 0, 3600);
        });
        s.section("kinds", [&](Section& kinds) {
            auto read = [&](const char* name, dc09::Protocol protocol,
                            std::map<std::string, std::string>& out) {
                kinds.raw(name, [&](const json& v) {
                    const std::string k = kinds.key(name);
                    if (!v.is_object()) fail(k, "must be an object of code: meaning");
                    for (auto it = v.begin(); it != v.end(); ++it) {
                        if (!it->is_string()) fail(k + "." + it.key(), "must be a string");
                        if (auto problem =
                                dc09::check_override(protocol, it.key(), it->get<std::string>())) {
                            fail(k + "." + it.key(), *problem);
                        }
                        out[it.key()] = it->get<std::string>();
                    }
                });
            };
            read("cid", dc09::Protocol::contact_id, dc.kinds_cid);
            read("sia", dc09::Protocol::sia, dc.kinds_sia);
        });
        s.integer("max_connections", dc.max_connections, 1, 1'000'000);
        s.integer("max_frame_bytes", dc.max_frame_bytes, 64, 4200);
        s.integer("idle_timeout_s", dc.idle_timeout_s, 1, 86400);
        s.integer("max_frames_per_s", dc.max_frames_per_s, 1, 10000);
        s.integer("offline_after_s", dc.offline_after_s, 0, 7 * 86400);
    });
    if (dc.enabled && !dc.tcp && !dc.udp) fail("dc09_listener", "tcp and udp are both false");
    auto& d = c.dispatch;
    root.section("dispatch", [&](Section& s) {
        s.integer("offer_timeout_s", d.offer_timeout_s, 1, 3600);
        s.integer("repeat_window_s", d.repeat_window_s, 0, 86400);
        s.number("arrival_radius_m", d.arrival_radius_m, 1, 10000);
        s.number("road_factor", d.road_factor, 1, 10);
        s.number("speed_kmh", d.speed_kmh, 1, 300);
        s.integer("unit_stale_s", d.unit_stale_s, 1, 86400);
        s.raw("units_required", [&](const json& v) {
            if (!v.is_object()) fail(s.key("units_required"), "must be an object of kind: count");
            std::map<std::string, int> required;
            for (auto it = v.begin(); it != v.end(); ++it) {
                const std::string k = s.key("units_required." + it.key());
                if (!is_alarm_kind(it.key())) fail(k, "unknown alarm kind");
                if (!it->is_number_integer() || it->get<long long>() < 1 ||
                    it->get<long long>() > 20) {
                    fail(k, "must be an integer between 1 and 20");
                }
                required[it.key()] = it->get<int>();
            }
            d.units_required = std::move(required);
        });
    });
    root.section("supervision", [&](Section& s) {
        s.integer("heartbeat_s", c.supervision.heartbeat_s, 1, 3600);
        s.integer("missed_heartbeats", c.supervision.missed_heartbeats, 1, 100);
        s.integer("position_sample_s", c.supervision.position_sample_s, 1, 3600);
        s.integer("position_retention_days", c.supervision.position_retention_days, 1, 3650);
    });
    root.section("sla", [&](Section& s) {
        s.integer("ack_s", c.sla.ack_s, 1, 86400);
        s.integer("arrival_s", c.sla.arrival_s, 1, 86400);
    });
    root.section("calendar", [&](Section& s) { s.string("tz", c.calendar.tz); });
    root.section("ha", [&](Section& s) {
        s.boolean("enabled", c.ha.enabled);
        s.string("node", c.ha.node);
        s.integer("lease_ttl_s", c.ha.lease_ttl_s, 1, 60);
        s.string("advertise_terminal", c.ha.advertise_terminal);
        s.string("advertise_api", c.ha.advertise_api);
    });
    root.section("log", [&](Section& s) {
        s.one_of("level", c.log.level, {"debug", "info", "warn", "error"});
        s.one_of("format", c.log.format, {"json", "text"});
    });
    root.reject_unknown();
    // The node name is written to the lease row and logged; nothing else.
    const bool node_ok =
        c.ha.node.size() <= 64 && std::all_of(c.ha.node.begin(), c.ha.node.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ||
                   ch == '.';
        });
    if (!node_ok) fail("ha.node", "must be 1-64 letters, digits, '-', '_' or '.'");
    // The default too: without tzdata no zone is known, and the server must
    // not start to compute school terms it cannot place.
    if (!TimeZone::locate(c.calendar.tz)) {
        fail("calendar.tz", "\"" + c.calendar.tz +
                                "\" is not a known time zone (not in the tz database; is tzdata "
                                "installed?)");
    }

    if (database_url_override && !database_url_override->empty()) {
        c.database.url = *database_url_override;
    }
    require(!c.database.url.empty(), "database.url");
    require(!t.cert.empty(), "terminal_listener.cert");
    require(!t.key.empty(), "terminal_listener.key");
    require(!t.client_ca.empty(), "terminal_listener.client_ca");
    require(!a.cert.empty(), "api_listener.cert");
    require(!a.key.empty(), "api_listener.key");
    return c;
}

Config load_config_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ConfigError(file.string() + ": cannot read the configuration file");
    std::stringstream text;
    text << in.rdbuf();
    const char* env = std::getenv("HUXIAO_DATABASE_URL");
    try {
        return parse_config(text.str(), std::filesystem::absolute(file).parent_path(),
                            env ? std::optional<std::string>(env) : std::nullopt);
    } catch (const ConfigError& e) {
        throw ConfigError(file.string() + ": " + e.what());
    }
}

}  // namespace huxiao
