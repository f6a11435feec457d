// What the simulated terminals and units share: the io_context, where the
// server listens, the random source, the counters for the closing summary,
// and the one-line log on stdout.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/protocol/reconnect_policy.hpp"

namespace huxiao::sim {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// What happened during the run, printed when the simulator stops.
struct Counters {
    int alarms_acked = 0;
    int alarms_retried = 0;
    int offers = 0;
    int accepted = 0;
    int declined = 0;
    int arrivals = 0;
    int clears = 0;
    int reconnects = 0;
    int tls_resumed = 0;   // terminal reconnections that resumed their TLS session
    int post_windows = 0;  // guard-post windows planned, and of those:
    int post_late = 0;     // the crew planned to be late
    int post_missed = 0;   // the crew planned to miss it
};

// One huxiaod: its terminal and API listeners. `host` is the address as
// text, for the check of the server certificate and the Host header.
struct ServerAddress {
    tcp::endpoint terminal;
    tcp::endpoint api;
    std::string host;
};

struct SimContext {
    explicit SimContext(asio::io_context& io_context) : io(io_context) {}

    asio::io_context& io;
    // The servers (a hot-standby pair has two), tried in turn; each client
    // keeps its own place in the list.
    std::vector<ServerAddress> servers;
    std::string server_ca;          // PEM file the server certificate must chain to
    double speed_kmh = 40;          // how fast units drive
    double arrival_radius_m = 150;  // the server's geofence (dispatch.arrival_radius_m)
    double decline_share = 0.15;    // share of offers a unit turns down
    std::string run_tag;            // part of every alarm id, unique per run
    std::mt19937_64 rng;
    bool stopping = false;        // set on SIGINT/SIGTERM or at the end of --duration
    std::string network_problem;  // the latest "refused" or "lost", for the city's online line
    Counters counters;

    double uniform(double lo, double hi) {
        return std::uniform_real_distribution<double>(lo, hi)(rng);
    }
    bool chance(double p) { return std::bernoulli_distribution(std::clamp(p, 0.0, 1.0))(rng); }
};

// Prints "HH:MM:SS text" (local time) and flushes, so a log file follows live.
inline void say(const std::string& text) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[16];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
    std::printf("%s %s\n", stamp, text.c_str());
    std::fflush(stdout);
}

// After a connection failed or ended. A network problem (refused, lost) is
// the same for every client when the server goes away, so the city reports
// it once, with the number of clients online; any other problem (TLS, the
// server turning us away) is this client's own and gets a line, once.
inline void report_problem(SimContext& ctx, const std::string& who, bool network,
                           const std::string& why, std::string& last_logged) {
    if (network) {
        ctx.network_problem = why;
    } else if (why != last_logged) {
        say(who + ": " + why + "; trying again with backoff");
        last_logged = why;
    }
}

// Waits between reconnection attempts: exponential back-off with full
// jitter over the server addresses in turn (common/protocol/reconnect_policy,
// as docs/terminals.md recommends to terminal vendors).
inline std::chrono::milliseconds reconnect_wait(SimContext& ctx, ReconnectPolicy& policy) {
    return policy.failed(ctx.uniform(0.0, 1.0));
}

// A string field of a message, or "" when it is missing, null or not a string.
inline std::string text_field(const nlohmann::json& message, const char* key) {
    const auto it = message.find(key);
    return it != message.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A numeric field as whole seconds etc., or `fallback`.
inline long long number_field(const nlohmann::json& message, const char* key, long long fallback) {
    const auto it = message.find(key);
    return it != message.end() && it->is_number() ? it->get<long long>() : fallback;
}

// Wall-clock microseconds since the Unix epoch, for `at` fields.
inline std::int64_t wall_now_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "1.5 s" style, for log lines.
inline std::string seconds_text(std::chrono::milliseconds d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000.0);
    return text;
}

}  // namespace huxiao::sim
