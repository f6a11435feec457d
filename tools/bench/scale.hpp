// huxiao-bench scale and scale-handshakes: the client side of bench/scale.sh
// (issue #11, docs/performance.md §12).
//
// `scale` holds tens of thousands of terminals (mutual TLS, each its own
// certificate, heartbeating), reconnects them when the server restarts (back-
// off with full jitter, TLS resumption with the session of the last
// connection) and then lets a share of them press at once: the alarm storm.
// `scale-handshakes` measures TLS handshakes per second against any TLS
// server that asks for the terminal certificate (huxiaod or nginx), full or
// resumed, so that both are driven by the same client.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace huxiao::bench {

struct ScaleOptions {
    std::string host = "127.0.0.1";  // also the name the server certificate is checked against
    int port = 0;
    std::filesystem::path ca;
    std::filesystem::path certs;
    std::string prefix = "T-B";
    int terminals = 20000;
    // Loopback source addresses, round robin over the terminals (ports and
    // the server's per-address budget are per address).
    std::vector<std::string> from;
    int threads = 2;
    // Written (empty) once every terminal has its welcome: the script then
    // samples the server's memory and restarts it.
    std::filesystem::path ready_file;
    double connect_timeout_s = 300;  // for all terminals' first welcome
    double restart_wait_s = 300;     // from ready until the first connection loss
    double reconnect_timeout_s = 120;
    int storm = 5000;             // terminals 1..storm each raise one alarm
    double storm_spread_s = 1.0;  // the alarms leave evenly within this window
    double storm_timeout_s = 120;
    std::string alarm_id = "A-storm";  // the storm alarm's id (unique per run)
    std::string kind = "medical";
    // The terminals' back-off (common/protocol/reconnect_policy.hpp): the
    // window after the first failure in a row and the widest one.
    int reconnect_first_ms = 1000;
    int reconnect_cap_ms = 10000;
};

// Runs the three phases and prints progress on stderr; returns one JSON line.
// Exit status of the tool: 0 when every phase completed (all connected, all
// back, every storm alarm acked once), 1 otherwise.
std::string run_scale(const ScaleOptions& options, bool& complete);

struct HandshakeOptions {
    std::string host = "127.0.0.1";
    int port = 0;
    std::filesystem::path ca;
    std::filesystem::path certs;  // terminal certificates, used in turn
    std::string prefix = "T-B";
    int terminals = 100;  // how many certificates to use in turn
    std::vector<std::string> from;
    int concurrency = 64;
    int threads = 2;
    double warmup_s = 1;
    double duration_s = 5;
    bool resume = false;  // offer the session (ticket) of the worker's last handshake
    std::string label;    // "huxiao", "nginx": copied into the result
};

// Each worker: connect, handshake (full, or resumed), wait for the server's
// first session ticket (so that the server has finished its side: checked
// the client certificate and the Finished message), close. Returns one JSON
// line: handshakes per second in the window, how many were resumed.
std::string run_handshakes(const HandshakeOptions& options);

}  // namespace huxiao::bench
