// The server's configuration (contract §2): a JSON file turned into a
// validated `Config`. Every key has a default except the database URL and the
// TLS material; an unknown key or a bad value is an error that names the key,
// because a typo must never fall back silently to a default.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace huxiao {

struct DatabaseConfig {
    std::string url;
    int pool_size = 4;
    // Extensions of the contract (docs/configuration.md):
    int batch_max = 512;                 // alarms per group commit
    int batches_in_flight = 2;           // per connection (pipelined)
    int alarm_commit_timeout_ms = 5000;  // after this an alarm is answered `unavailable`
    int connect_timeout_s = 5;
    // Contract §8: lists and reports may read from a standby (e.g. with
    // target_session_attrs=prefer-standby); empty: they read through `url`.
    std::string read_url;

    bool operator==(const DatabaseConfig&) const = default;
};

struct TerminalListenerConfig {
    std::string address = "0.0.0.0";
    int port = 7443;
    std::filesystem::path cert;
    std::filesystem::path key;
    std::filesystem::path client_ca;
    int max_connections = 20000;
    int max_frame_bytes = 4096;
    int hello_timeout_s = 10;  // counted from the end of the TLS handshake
    // Extension: sustained frames per second a terminal may send (burst twice that).
    int max_frames_per_s = 20;
    // Extensions (docs/security.md): nothing holds a slot for long before it
    // has authenticated. max_connections counts sessions past hello; the
    // connections still in TLS or waiting for hello have their own budget.
    int max_unauthenticated = 2000;
    // Per address: high enough for the schools behind one carrier NAT that
    // reconnect together after an outage, low enough that one address cannot
    // take the whole budget.
    int max_unauthenticated_per_address = 256;
    int handshake_timeout_s = 5;
    // Extension (docs/security.md): a connection past those budgets waits,
    // first come first served, for a place instead of being closed at
    // accept, if it could finish its handshake within handshake_timeout_s at
    // the rate places free (common/util/waiting_room.hpp); 0: no waiting.
    int max_waiting = 8000;
    int max_waiting_per_address = 2000;
    int max_sessions_per_terminal = 2;  // a further session replaces the oldest
    // 80 bytes shared by the servers a terminal may resume with; empty: a
    // random key per process.
    std::filesystem::path session_ticket_key;

    bool operator==(const TerminalListenerConfig&) const = default;
};

struct ApiListenerConfig {
    std::string address = "0.0.0.0";
    int port = 8443;
    std::filesystem::path cert;
    std::filesystem::path key;
    // Who may read /metrics (contract 1.1): "loopback" clients only, any
    // "token" of any role, or "public" (everyone who reaches the port).
    std::string metrics = "loopback";
    // Extensions (docs/security.md). max_connections counts connections that
    // presented a valid token (HTTP or WebSocket); the others have their own,
    // smaller budget, overall and per source address.
    int max_connections = 4096;
    int max_unauthenticated = 1024;
    int max_unauthenticated_per_address = 64;
    int handshake_timeout_s = 5;  // TCP accept to TLS established
    int header_timeout_s = 10;    // first byte of a request to the end of its headers
    int body_timeout_s = 30;      // end of headers to the end of the body
    int idle_timeout_s = 60;      // keep-alive: waiting for the next request
    int ws_idle_timeout_s = 60;   // WebSocket silence (pings at half) before closing
    std::filesystem::path session_ticket_key;

    bool operator==(const ApiListenerConfig&) const = default;
};

// SIA DC-09 intake (contract §9; docs/dc09.md).
struct Dc09ListenerConfig {
    bool enabled = false;
    std::string address = "0.0.0.0";
    int port = 7400;
    bool tcp = true;
    bool udp = true;
    bool allow_plain = false;
    int max_future_s = 20;  // max_skew_s.future: a panel clock ahead of ours
    int max_past_s = 40;    // max_skew_s.past: a panel clock (or a retry) behind ours
    // kinds: {"cid": {"151": "fire"}, "sia": {"GA": "other"}}: an alarm kind
    // or one of cancel, test, restore, event.
    std::map<std::string, std::string> kinds_cid;
    std::map<std::string, std::string> kinds_sia;
    // Extensions (docs/dc09.md): limits like the other listeners'.
    int max_connections = 2000;
    int max_frame_bytes = 1024;
    int idle_timeout_s = 300;   // a TCP connection silent this long is closed
    int max_frames_per_s = 10;  // per TCP connection or UDP sender, burst twice that
    // A panel silent this long (no link test, no event) is offline. Panels
    // link-test far less often than TLS terminals beat; 0: the TLS terminals'
    // window, supervision.heartbeat_s × missed_heartbeats.
    int offline_after_s = 0;

    bool operator==(const Dc09ListenerConfig&) const = default;
};

struct DispatchConfig {
    int offer_timeout_s = 20;
    int repeat_window_s = 120;
    double arrival_radius_m = 150;
    double road_factor = 1.3;
    double speed_kmh = 40;
    int unit_stale_s = 120;
    std::map<std::string, int> units_required{{"assault", 2}, {"intrusion", 2}};

    bool operator==(const DispatchConfig&) const = default;
};

struct SupervisionConfig {
    int heartbeat_s = 30;
    int missed_heartbeats = 3;
    // Extensions (docs/configuration.md): unit positions are recorded at most
    // once per position_sample_s per unit and kept position_retention_days.
    int position_sample_s = 30;
    int position_retention_days = 90;

    bool operator==(const SupervisionConfig&) const = default;
};

struct SlaConfig {
    int ack_s = 60;
    int arrival_s = 300;

    bool operator==(const SlaConfig&) const = default;
};

// The city's civil calendar (extension, docs/contract-notes.md): the local
// time zone, from the tz database, in which school terms begin (the
// `drill_held` inspection item, docs/inspections.md). Guard posts carry their
// own zone (contract §7).
struct CalendarConfig {
    std::string tz = "Asia/Shanghai";

    bool operator==(const CalendarConfig&) const = default;
};

// Several servers, one leader (contract §8; docs/availability.md). The
// leader holds a lease row in PostgreSQL; the others are standbys that take
// it over when it expires.
struct HaConfig {
    bool enabled = false;
    std::string node = "a";  // this server's name in the lease; unique per server
    int lease_ttl_s = 3;
    // Where terminals and clients reach this server when it leads: what a
    // standby's /readyz names as the leader's addresses.
    std::string advertise_terminal;
    std::string advertise_api;

    bool operator==(const HaConfig&) const = default;
};

struct LogConfig {
    std::string level = "info";   // debug | info | warn | error
    std::string format = "json";  // json | text

    bool operator==(const LogConfig&) const = default;
};

struct Config {
    DatabaseConfig database;
    TerminalListenerConfig terminal_listener;
    ApiListenerConfig api_listener;
    Dc09ListenerConfig dc09_listener;
    DispatchConfig dispatch;
    SupervisionConfig supervision;
    SlaConfig sla;
    CalendarConfig calendar;
    HaConfig ha;
    LogConfig log;

    bool operator==(const Config&) const = default;
};

// Thrown for any problem with the configuration; what() names the key,
// e.g. "dispatch.offer_timeout_s: must be an integer between 1 and 3600".
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Parses `text`. Relative paths are resolved against `base_dir`;
// `database_url_override` (from HUXIAO_DATABASE_URL) replaces database.url.
Config parse_config(const std::string& text, const std::filesystem::path& base_dir,
                    const std::optional<std::string>& database_url_override);

// Reads the file and applies the HUXIAO_DATABASE_URL environment variable.
Config load_config_file(const std::filesystem::path& file);

// The alarm kinds of contract §3.
bool is_alarm_kind(const std::string& kind);

}  // namespace huxiao
