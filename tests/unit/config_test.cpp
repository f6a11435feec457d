// Configuration parsing (contract §2, common/config).
#include "common/config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace huxiao {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kBase = "/etc/huxiao";

// The smallest valid configuration: only the keys without a default.
json minimal() {
    return json::parse(R"({
        "database": { "url": "postgresql://huxiao@127.0.0.1:5432/huxiao" },
        "terminal_listener": { "cert": "certs/server.crt", "key": "certs/server.key",
                               "client_ca": "certs/terminal-ca.crt" },
        "api_listener": { "cert": "certs/server.crt", "key": "certs/server.key" }
    })");
}

Config parse(const json& doc, const std::optional<std::string>& url_override = std::nullopt) {
    return parse_config(doc.dump(), kBase, url_override);
}

// The message of the ConfigError that parsing `doc` throws ("" if none).
std::string text_error(const std::string& text,
                       const std::optional<std::string>& url_override = std::nullopt) {
    try {
        parse_config(text, kBase, url_override);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}
std::string error_of(const json& doc) { return text_error(doc.dump()); }

// `doc` with `value` set at the JSON pointer `pointer`.
json with(json doc, const std::string& pointer, json value) {
    doc[json::json_pointer(pointer)] = std::move(value);
    return doc;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

// ---------------------------------------------------------------- defaults

TEST(Config, MinimalFileGetsTheContractDefaults) {
    const Config c = parse(minimal());
    EXPECT_EQ(c.database.url, "postgresql://huxiao@127.0.0.1:5432/huxiao");
    EXPECT_EQ(c.database.pool_size, 4);

    EXPECT_EQ(c.terminal_listener.address, "0.0.0.0");
    EXPECT_EQ(c.terminal_listener.port, 7443);
    EXPECT_EQ(c.terminal_listener.max_connections, 20000);
    EXPECT_EQ(c.terminal_listener.max_frame_bytes, 4096);
    EXPECT_EQ(c.terminal_listener.hello_timeout_s, 10);

    EXPECT_EQ(c.api_listener.address, "0.0.0.0");
    EXPECT_EQ(c.api_listener.port, 8443);

    EXPECT_EQ(c.dispatch.offer_timeout_s, 20);
    EXPECT_EQ(c.dispatch.repeat_window_s, 120);
    EXPECT_DOUBLE_EQ(c.dispatch.arrival_radius_m, 150);
    EXPECT_DOUBLE_EQ(c.dispatch.road_factor, 1.3);
    EXPECT_DOUBLE_EQ(c.dispatch.speed_kmh, 40);
    EXPECT_EQ(c.dispatch.unit_stale_s, 120);
    EXPECT_EQ(c.dispatch.units_required,
              (std::map<std::string, int>{{"assault", 2}, {"intrusion", 2}}));

    EXPECT_EQ(c.supervision.heartbeat_s, 30);
    EXPECT_EQ(c.supervision.missed_heartbeats, 3);
    EXPECT_EQ(c.sla.ack_s, 60);
    EXPECT_EQ(c.sla.arrival_s, 300);
    EXPECT_EQ(c.log.level, "info");
    EXPECT_EQ(c.log.format, "json");
}

TEST(Config, ExtensionDefaults) {
    const Config c = parse(minimal());
    EXPECT_EQ(c.database.batch_max, 512);
    EXPECT_EQ(c.database.batches_in_flight, 2);
    EXPECT_EQ(c.database.alarm_commit_timeout_ms, 5000);
    EXPECT_EQ(c.database.connect_timeout_s, 5);
    EXPECT_EQ(c.terminal_listener.max_frames_per_s, 20);
}

TEST(Config, CalendarZoneDefaultsToShanghaiAndComesFromTheTzDatabase) {
    EXPECT_EQ(parse(minimal()).calendar.tz, "Asia/Shanghai");
    EXPECT_EQ(parse(with(minimal(), "/calendar/tz", "Europe/Berlin")).calendar.tz, "Europe/Berlin");
    EXPECT_EQ(error_of(with(minimal(), "/calendar/tz", "Mars/Olympus")),
              "calendar.tz: \"Mars/Olympus\" is not a known time zone (not in the tz database; "
              "is tzdata installed?)");
    EXPECT_EQ(error_of(with(minimal(), "/calendar/tz", "+08:00")),
              "calendar.tz: \"+08:00\" is not a known time zone (not in the tz database; is "
              "tzdata installed?)");
    EXPECT_EQ(error_of(with(minimal(), "/calendar/tz", 8)),
              "calendar.tz: must be a non-empty string");
    EXPECT_EQ(error_of(with(minimal(), "/calendar/zone", "UTC")), "calendar.zone: unknown key");
}

TEST(Config, ConnectionLimitDefaults) {
    const Config c = parse(minimal());
    const auto& t = c.terminal_listener;
    EXPECT_EQ(t.max_unauthenticated, 2000);
    EXPECT_EQ(t.max_unauthenticated_per_address, 256);
    EXPECT_EQ(t.handshake_timeout_s, 5);
    EXPECT_EQ(t.max_waiting, 8000);
    EXPECT_EQ(t.max_waiting_per_address, 2000);
    EXPECT_EQ(t.max_sessions_per_terminal, 2);
    EXPECT_TRUE(t.session_ticket_key.empty());
    const auto& a = c.api_listener;
    EXPECT_EQ(a.max_connections, 4096);
    EXPECT_EQ(a.max_unauthenticated, 1024);
    EXPECT_EQ(a.max_unauthenticated_per_address, 64);
    EXPECT_EQ(a.handshake_timeout_s, 5);
    EXPECT_EQ(a.header_timeout_s, 10);
    EXPECT_EQ(a.body_timeout_s, 30);
    EXPECT_EQ(a.idle_timeout_s, 60);
    EXPECT_EQ(a.ws_idle_timeout_s, 60);
    EXPECT_TRUE(a.session_ticket_key.empty());
}

TEST(Config, ConnectionLimitsAreReadAndChecked) {
    json doc = minimal();
    doc["terminal_listener"]["max_unauthenticated_per_address"] = 4;
    doc["terminal_listener"]["max_waiting"] = 0;
    doc["terminal_listener"]["max_waiting_per_address"] = 7;
    doc["terminal_listener"]["session_ticket_key"] = "keys/ticket.key";
    doc["api_listener"]["header_timeout_s"] = 3;
    doc["api_listener"]["session_ticket_key"] = "/var/lib/huxiao/ticket.key";
    const Config c = parse(doc);
    EXPECT_EQ(c.terminal_listener.max_unauthenticated_per_address, 4);
    EXPECT_EQ(c.terminal_listener.max_waiting, 0);
    EXPECT_EQ(c.terminal_listener.max_waiting_per_address, 7);
    EXPECT_EQ(c.terminal_listener.session_ticket_key, kBase / "keys/ticket.key");
    EXPECT_EQ(c.api_listener.header_timeout_s, 3);
    EXPECT_EQ(c.api_listener.session_ticket_key, "/var/lib/huxiao/ticket.key");

    EXPECT_EQ(error_of(with(minimal(), "/api_listener/idle_timeout_s", 0)),
              "api_listener.idle_timeout_s: must be an integer between 1 and 86400");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/max_sessions_per_terminal", 0)),
              "terminal_listener.max_sessions_per_terminal: must be an integer between 1 and 100");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/max_waiting", -1)),
              "terminal_listener.max_waiting: must be an integer between 0 and 1000000");
    EXPECT_EQ(error_of(with(minimal(), "/api_listener/max_unauthenticated", "many")),
              "api_listener.max_unauthenticated: must be an integer between 1 and 1000000");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/session_ticket_key", "")),
              "terminal_listener.session_ticket_key: must be a non-empty string");
}

TEST(Config, EmptySectionsKeepTheirDefaults) {
    json doc = minimal();
    doc["dispatch"] = json::object();
    doc["supervision"] = json::object();
    doc["sla"] = json::object();
    doc["log"] = json::object();
    const Config c = parse(doc);
    EXPECT_EQ(c.dispatch.offer_timeout_s, 20);
    EXPECT_EQ(c.supervision.heartbeat_s, 30);
    EXPECT_EQ(c.sla.arrival_s, 300);
    EXPECT_EQ(c.log.level, "info");
}

// ---------------------------------------------------------------- every section

TEST(Config, TheContractExampleParsesWithEveryValue) {
    const std::string text = R"({
      "database": { "url": "postgresql://u@db:5432/x", "pool_size": 8,
                    "batch_max": 100, "alarm_commit_timeout_ms": 2500, "connect_timeout_s": 7 },
      "terminal_listener": {
        "address": "10.0.0.1", "port": 17443,
        "cert": "/abs/server.crt", "key": "rel/server.key", "client_ca": "ca.crt",
        "max_connections": 500, "max_frame_bytes": 8192, "hello_timeout_s": 5,
        "max_frames_per_s": 7
      },
      "api_listener": { "address": "127.0.0.1", "port": 18443, "cert": "api.crt", "key": "api.key" },
      "dispatch": {
        "offer_timeout_s": 30, "repeat_window_s": 60, "arrival_radius_m": 200.5,
        "road_factor": 1.5, "speed_kmh": 35, "unit_stale_s": 90,
        "units_required": { "fire": 3, "medical": 1 }
      },
      "supervision": { "heartbeat_s": 15, "missed_heartbeats": 4 },
      "sla": { "ack_s": 45, "arrival_s": 240 },
      "log": { "level": "debug", "format": "text" }
    })";
    const Config c = parse_config(text, kBase, std::nullopt);
    EXPECT_EQ(c.database.url, "postgresql://u@db:5432/x");
    EXPECT_EQ(c.database.pool_size, 8);
    EXPECT_EQ(c.database.batch_max, 100);
    EXPECT_EQ(c.database.alarm_commit_timeout_ms, 2500);
    EXPECT_EQ(c.database.connect_timeout_s, 7);

    const auto& t = c.terminal_listener;
    EXPECT_EQ(t.address, "10.0.0.1");
    EXPECT_EQ(t.port, 17443);
    EXPECT_EQ(t.cert, fs::path("/abs/server.crt"));
    EXPECT_EQ(t.key, kBase / "rel/server.key");
    EXPECT_EQ(t.client_ca, kBase / "ca.crt");
    EXPECT_EQ(t.max_connections, 500);
    EXPECT_EQ(t.max_frame_bytes, 8192);
    EXPECT_EQ(t.hello_timeout_s, 5);
    EXPECT_EQ(t.max_frames_per_s, 7);

    EXPECT_EQ(c.api_listener.address, "127.0.0.1");
    EXPECT_EQ(c.api_listener.port, 18443);
    EXPECT_EQ(c.api_listener.cert, kBase / "api.crt");
    EXPECT_EQ(c.api_listener.key, kBase / "api.key");

    EXPECT_EQ(c.dispatch.offer_timeout_s, 30);
    EXPECT_EQ(c.dispatch.repeat_window_s, 60);
    EXPECT_DOUBLE_EQ(c.dispatch.arrival_radius_m, 200.5);
    EXPECT_DOUBLE_EQ(c.dispatch.road_factor, 1.5);
    EXPECT_DOUBLE_EQ(c.dispatch.speed_kmh, 35);
    EXPECT_EQ(c.dispatch.unit_stale_s, 90);
    // The given map replaces the default one; it is not merged with it.
    EXPECT_EQ(c.dispatch.units_required, (std::map<std::string, int>{{"fire", 3}, {"medical", 1}}));

    EXPECT_EQ(c.supervision.heartbeat_s, 15);
    EXPECT_EQ(c.supervision.missed_heartbeats, 4);
    EXPECT_EQ(c.sla.ack_s, 45);
    EXPECT_EQ(c.sla.arrival_s, 240);
    EXPECT_EQ(c.log.level, "debug");
    EXPECT_EQ(c.log.format, "text");
}

TEST(Config, IntegerValuedNumbersAreAcceptedForRealKeys) {
    const Config c = parse(with(minimal(), "/dispatch/road_factor", 2));
    EXPECT_DOUBLE_EQ(c.dispatch.road_factor, 2.0);
}

TEST(Config, EmptyUnitsRequiredMeansOneUnitForEveryKind) {
    const Config c = parse(with(minimal(), "/dispatch/units_required", json::object()));
    EXPECT_TRUE(c.dispatch.units_required.empty());
}

TEST(Config, PortZeroIsAllowed) {
    const Config c = parse(with(minimal(), "/terminal_listener/port", 0));
    EXPECT_EQ(c.terminal_listener.port, 0);
}

TEST(Config, RangeBoundariesAreInclusive) {
    EXPECT_EQ(parse(with(minimal(), "/database/pool_size", 1)).database.pool_size, 1);
    EXPECT_EQ(parse(with(minimal(), "/database/pool_size", 64)).database.pool_size, 64);
    EXPECT_EQ(parse(with(minimal(), "/database/batches_in_flight", 1)).database.batches_in_flight,
              1);
    EXPECT_EQ(parse(with(minimal(), "/database/batches_in_flight", 16)).database.batches_in_flight,
              16);
    EXPECT_EQ(parse(with(minimal(), "/terminal_listener/port", 65535)).terminal_listener.port,
              65535);
    EXPECT_EQ(parse(with(minimal(), "/dispatch/repeat_window_s", 0)).dispatch.repeat_window_s, 0);
    EXPECT_EQ(parse(with(minimal(), "/terminal_listener/max_frame_bytes", 256))
                  .terminal_listener.max_frame_bytes,
              256);
    EXPECT_DOUBLE_EQ(parse(with(minimal(), "/dispatch/road_factor", 1.0)).dispatch.road_factor,
                     1.0);
    EXPECT_DOUBLE_EQ(parse(with(minimal(), "/dispatch/road_factor", 10.0)).dispatch.road_factor,
                     10.0);
}

// ---------------------------------------------------------------- paths

TEST(Config, RelativePathsResolveAgainstTheBaseDirectory) {
    const Config c = parse(minimal());
    EXPECT_EQ(c.terminal_listener.cert, fs::path("/etc/huxiao/certs/server.crt"));
    EXPECT_EQ(c.terminal_listener.key, fs::path("/etc/huxiao/certs/server.key"));
    EXPECT_EQ(c.terminal_listener.client_ca, fs::path("/etc/huxiao/certs/terminal-ca.crt"));
    EXPECT_EQ(c.api_listener.cert, fs::path("/etc/huxiao/certs/server.crt"));
    EXPECT_EQ(c.api_listener.key, fs::path("/etc/huxiao/certs/server.key"));
}

TEST(Config, AbsolutePathsAreKept) {
    json doc = with(minimal(), "/terminal_listener/client_ca", "/srv/pki/ca.pem");
    doc = with(doc, "/api_listener/key", "/srv/pki/api.key");
    const Config c = parse(doc);
    EXPECT_EQ(c.terminal_listener.client_ca, fs::path("/srv/pki/ca.pem"));
    EXPECT_EQ(c.api_listener.key, fs::path("/srv/pki/api.key"));
}

TEST(Config, ParentDirectoryComponentsAreJoinedNotNormalised) {
    const Config c = parse(with(minimal(), "/api_listener/cert", "../shared/api.crt"));
    EXPECT_EQ(c.api_listener.cert, fs::path("/etc/huxiao/../shared/api.crt"));
}

TEST(Config, ARelativeBaseDirectoryIsUsedAsGiven) {
    const Config c = parse_config(minimal().dump(), "conf", std::nullopt);
    EXPECT_EQ(c.terminal_listener.cert, fs::path("conf/certs/server.crt"));
}

// ---------------------------------------------------------------- database URL override

TEST(Config, DatabaseUrlOverrideReplacesTheFileValue) {
    const Config c = parse(minimal(), std::string("postgresql://other@10.1.1.1/huxiao_test"));
    EXPECT_EQ(c.database.url, "postgresql://other@10.1.1.1/huxiao_test");
}

TEST(Config, DatabaseUrlOverrideSatisfiesTheRequiredUrl) {
    json doc = minimal();
    doc["database"].erase("url");
    EXPECT_EQ(error_of(doc), "database.url: is required");
    const Config c = parse(doc, std::string("postgresql://env@host/db"));
    EXPECT_EQ(c.database.url, "postgresql://env@host/db");

    doc.erase("database");
    EXPECT_EQ(parse(doc, std::string("postgresql://env@host/db")).database.url,
              "postgresql://env@host/db");
}

TEST(Config, EmptyOverrideIsIgnored) {
    const Config c = parse(minimal(), std::string());
    EXPECT_EQ(c.database.url, "postgresql://huxiao@127.0.0.1:5432/huxiao");
}

// ---------------------------------------------------------------- required keys

TEST(Config, EachRequiredKeyIsNamedWhenMissing) {
    const std::pair<const char*, const char*> cases[] = {
        {"/database", "url"},          {"/terminal_listener", "cert"},
        {"/terminal_listener", "key"}, {"/terminal_listener", "client_ca"},
        {"/api_listener", "cert"},     {"/api_listener", "key"},
    };
    for (const auto& [section, key] : cases) {
        json doc = minimal();
        doc[json::json_pointer(section)].erase(key);
        const std::string dotted = std::string(section + 1) + "." + key;
        EXPECT_EQ(error_of(doc), dotted + ": is required") << dotted;
    }
}

TEST(Config, EmptyDocumentNamesTheFirstRequiredKey) {
    EXPECT_EQ(text_error("{}"), "database.url: is required");
}

TEST(Config, RequiredStringsMustNotBeEmpty) {
    EXPECT_EQ(error_of(with(minimal(), "/database/url", "")),
              "database.url: must be a non-empty string");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/cert", "")),
              "terminal_listener.cert: must be a non-empty string");
    EXPECT_EQ(error_of(with(minimal(), "/api_listener/key", 5)),
              "api_listener.key: must be a non-empty string");
}

// ---------------------------------------------------------------- unknown keys

TEST(Config, UnknownTopLevelKeyIsRejected) {
    EXPECT_EQ(error_of(with(minimal(), "/databse", json::object())), "databse: unknown key");
}

TEST(Config, UnknownNestedKeyIsNamedWithItsDottedPath) {
    EXPECT_EQ(error_of(with(minimal(), "/database/pool", 4)), "database.pool: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/max_frame_byte", 4096)),
              "terminal_listener.max_frame_byte: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/api_listener/client_ca", "x.crt")),
              "api_listener.client_ca: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/offer_timeout", 20)),
              "dispatch.offer_timeout: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/supervision/heartbeat", 30)),
              "supervision.heartbeat: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/sla/arrival", 300)), "sla.arrival: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/log/levle", "info")), "log.levle: unknown key");
}

TEST(Config, UnknownKeyWithAValidLookingValueStillFails) {
    // A typo must not silently fall back to the default.
    json doc = with(minimal(), "/dispatch/repeat_windows_s", 600);
    EXPECT_EQ(error_of(doc), "dispatch.repeat_windows_s: unknown key");
}

TEST(Config, UnknownAlarmKindInUnitsRequiredIsNamed) {
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required/robbery", 2)),
              "dispatch.units_required.robbery: unknown alarm kind");
}

// ---------------------------------------------------------------- bad values

TEST(Config, IntegerOutOfRangeNamesKeyAndRange) {
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/offer_timeout_s", 0)),
              "dispatch.offer_timeout_s: must be an integer between 1 and 3600");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/offer_timeout_s", 3601)),
              "dispatch.offer_timeout_s: must be an integer between 1 and 3600");
    EXPECT_EQ(error_of(with(minimal(), "/database/pool_size", 65)),
              "database.pool_size: must be an integer between 1 and 64");
    EXPECT_EQ(error_of(with(minimal(), "/database/batches_in_flight", 0)),
              "database.batches_in_flight: must be an integer between 1 and 16");
    EXPECT_EQ(error_of(with(minimal(), "/database/batches_in_flight", 17)),
              "database.batches_in_flight: must be an integer between 1 and 16");
    EXPECT_EQ(error_of(with(minimal(), "/database/batches_in_flight", "2")),
              "database.batches_in_flight: must be an integer between 1 and 16");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/port", 70000)),
              "terminal_listener.port: must be an integer between 0 and 65535");
    EXPECT_EQ(error_of(with(minimal(), "/api_listener/port", -1)),
              "api_listener.port: must be an integer between 0 and 65535");
    EXPECT_EQ(error_of(with(minimal(), "/terminal_listener/max_frame_bytes", 255)),
              "terminal_listener.max_frame_bytes: must be an integer between 256 and 1048576");
    EXPECT_EQ(error_of(with(minimal(), "/supervision/missed_heartbeats", 0)),
              "supervision.missed_heartbeats: must be an integer between 1 and 100");
    EXPECT_EQ(error_of(with(minimal(), "/sla/ack_s", 86401)),
              "sla.ack_s: must be an integer between 1 and 86400");
}

TEST(Config, HugeIntegersAreRejectedNotTruncated) {
    EXPECT_EQ(error_of(with(minimal(), "/database/pool_size", 4294967300LL)),
              "database.pool_size: must be an integer between 1 and 64");
    EXPECT_EQ(text_error(R"({"database":{"url":"x","pool_size":18446744073709551615}})"),
              "database.pool_size: must be an integer between 1 and 64");
}

TEST(Config, IntegerKeysRejectOtherTypes) {
    for (const json& bad : {json(4.5), json("4"), json(true), json(nullptr), json::array()}) {
        EXPECT_EQ(error_of(with(minimal(), "/database/pool_size", bad)),
                  "database.pool_size: must be an integer between 1 and 64")
            << bad.dump();
    }
}

TEST(Config, NumberKeysNameKeyAndRange) {
    const std::string radius = error_of(with(minimal(), "/dispatch/arrival_radius_m", 0.5));
    EXPECT_TRUE(starts_with(radius, "dispatch.arrival_radius_m: must be a number between 1 and "))
        << radius;
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/road_factor", 10.01)),
              "dispatch.road_factor: must be a number between 1 and 10");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/speed_kmh", "40")),
              "dispatch.speed_kmh: must be a number between 1 and 300");
}

TEST(Config, UnitsRequiredValuesAreValidated) {
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required/fire", 0)),
              "dispatch.units_required.fire: must be an integer between 1 and 20");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required/fire", 21)),
              "dispatch.units_required.fire: must be an integer between 1 and 20");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required/fire", 2.5)),
              "dispatch.units_required.fire: must be an integer between 1 and 20");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required/fire", "2")),
              "dispatch.units_required.fire: must be an integer between 1 and 20");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required", json::array({2}))),
              "dispatch.units_required: must be an object of kind: count");
    EXPECT_EQ(error_of(with(minimal(), "/dispatch/units_required", 2)),
              "dispatch.units_required: must be an object of kind: count");
}

TEST(Config, UnitsRequiredAcceptsEveryAlarmKind) {
    json required = json::object();
    for (const char* kind : {"intrusion", "assault", "medical", "fire", "bullying", "self_harm",
                             "drowning", "traffic", "other"}) {
        required[kind] = 20;
    }
    const Config c = parse(with(minimal(), "/dispatch/units_required", required));
    EXPECT_EQ(c.dispatch.units_required.size(), 9u);
    EXPECT_EQ(c.dispatch.units_required.at("self_harm"), 20);
}

TEST(Config, LogLevelAndFormatAreEnumerations) {
    EXPECT_EQ(error_of(with(minimal(), "/log/level", "verbose")),
              "log.level: must be one of debug, info, warn, error (got \"verbose\")");
    EXPECT_EQ(error_of(with(minimal(), "/log/format", "xml")),
              "log.format: must be one of json, text (got \"xml\")");
    EXPECT_EQ(error_of(with(minimal(), "/log/level", "")), "log.level: must be a non-empty string");
    for (const char* level : {"debug", "info", "warn", "error"}) {
        EXPECT_EQ(parse(with(minimal(), "/log/level", level)).log.level, level);
    }
}

TEST(Config, MetricsAccessIsLoopbackUnlessWidened) {
    EXPECT_EQ(parse(minimal()).api_listener.metrics, "loopback");
    for (const char* access : {"loopback", "token", "public"}) {
        EXPECT_EQ(parse(with(minimal(), "/api_listener/metrics", access)).api_listener.metrics,
                  access);
    }
    EXPECT_EQ(error_of(with(minimal(), "/api_listener/metrics", "open")),
              "api_listener.metrics: must be one of loopback, token, public (got \"open\")");
    EXPECT_EQ(error_of(with(minimal(), "/api_listener/metrics", true)),
              "api_listener.metrics: must be a non-empty string");
}

TEST(Config, SectionsMustBeObjects) {
    EXPECT_EQ(error_of(with(minimal(), "/dispatch", json::array())), "dispatch: must be an object");
    EXPECT_EQ(error_of(with(minimal(), "/log", "info")), "log: must be an object");
    EXPECT_EQ(error_of(with(minimal(), "/database", nullptr)), "database: must be an object");
}

TEST(Config, TheDocumentMustBeAnObject) {
    EXPECT_EQ(text_error("[]"), "(top level): must be an object");
    EXPECT_EQ(text_error("42"), "(top level): must be an object");
}

TEST(Config, InvalidJsonIsReported) {
    EXPECT_TRUE(starts_with(text_error("{\"database\": "), "not valid JSON: ")) << text_error("{");
    EXPECT_TRUE(starts_with(text_error(""), "not valid JSON: "));
    // Comments and trailing commas are not JSON.
    EXPECT_TRUE(starts_with(text_error("{\"log\": {},}"), "not valid JSON: "));
}

TEST(Config, NumberBeyondTheRangeOfADoubleIsAConfigError) {
    // nlohmann reports it as out_of_range, not parse_error (found by the fuzzer).
    EXPECT_TRUE(
        starts_with(text_error("{\"dispatch\": {\"speed_kmh\": 1e400}}"), "not valid JSON: "));
    EXPECT_TRUE(
        starts_with(text_error("{\"database\": {\"pool_size\": -1e999}}"), "not valid JSON: "));
}

TEST(Config, AKeyWithControlCharactersIsNamedInFull) {
    // A NUL in a key cut the message short at it (found by the fuzzer).
    EXPECT_EQ(
        text_error("{\"database\": {\"url\": \"u\"}, \"api_listener\": {\"c8\\u0000x\\n\": 1}}"),
        "api_listener.c8\\u0000x\\u000A: unknown key");
}

TEST(Config, ConfigErrorIsARuntimeError) {
    try {
        parse_config("{}", kBase, std::nullopt);
        FAIL() << "expected a ConfigError";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "database.url: is required");
    }
}

// ---------------------------------------------------------------- alarm kinds

TEST(AlarmKinds, ExactlyTheNineOfTheContract) {
    for (const char* kind : {"intrusion", "assault", "medical", "fire", "bullying", "self_harm",
                             "drowning", "traffic", "other"}) {
        EXPECT_TRUE(is_alarm_kind(kind)) << kind;
    }
    for (const char* kind : {"", "Fire", "FIRE", "self-harm", "robbery", "fire ", "unknown"}) {
        EXPECT_FALSE(is_alarm_kind(kind)) << kind;
    }
}

TEST(Config, TheContractsHaSectionAndReadUrl) {
    // Contract §8's example, and a database.url with several hosts.
    json doc =
        with(minimal(), "/ha", json::parse(R"({ "enabled": true, "node": "a", "lease_ttl_s": 3,
                                     "advertise_terminal": "10.0.0.5:7443",
                                     "advertise_api": "10.0.0.5:8443" })"));
    doc =
        with(doc, "/database/url",
             "postgresql://huxiao@h1:5432,h2:5432,h3:5432/huxiao?target_session_attrs=read-write");
    doc = with(doc, "/database/read_url",
               "postgresql://huxiao@h1:5432,h2:5432/huxiao?target_session_attrs=prefer-standby");
    const Config c = parse(doc);
    EXPECT_TRUE(c.ha.enabled);
    EXPECT_EQ(c.ha.node, "a");
    EXPECT_EQ(c.ha.lease_ttl_s, 3);
    EXPECT_EQ(c.ha.advertise_terminal, "10.0.0.5:7443");
    EXPECT_EQ(c.ha.advertise_api, "10.0.0.5:8443");
    EXPECT_EQ(c.database.read_url,
              "postgresql://huxiao@h1:5432,h2:5432/huxiao?target_session_attrs=prefer-standby");
}

TEST(Config, HaIsOffByDefaultAndItsValuesAreChecked) {
    const Config c = parse(minimal());
    EXPECT_FALSE(c.ha.enabled);
    EXPECT_EQ(c.ha.lease_ttl_s, 3);
    EXPECT_TRUE(c.database.read_url.empty());
    EXPECT_EQ(error_of(with(minimal(), "/ha/enabled", "yes")), "ha.enabled: must be true or false");
    EXPECT_EQ(error_of(with(minimal(), "/ha/lease_ttl_s", 0)),
              "ha.lease_ttl_s: must be an integer between 1 and 60");
    EXPECT_EQ(error_of(with(minimal(), "/ha/node", "a b")),
              "ha.node: must be 1-64 letters, digits, '-', '_' or '.'");
    EXPECT_EQ(error_of(with(minimal(), "/ha/node", "")), "ha.node: must be a non-empty string");
    EXPECT_EQ(error_of(with(minimal(), "/ha/leader", true)), "ha.leader: unknown key");
    EXPECT_EQ(error_of(with(minimal(), "/database/read_url", "")),
              "database.read_url: must be a non-empty string");
}

}  // namespace
}  // namespace huxiao
