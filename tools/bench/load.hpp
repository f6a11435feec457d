// The load generator of huxiao-bench: N terminals over mutual TLS, each in a
// closed loop (send an alarm, wait for its ack, send the next), all on one
// io_context. Measures acks per second and ack latency over a window that
// starts after a warm-up. With several servers (a hot-standby pair, contract
// §8) a terminal that loses its connection moves on to the next address with
// the back-off every terminal should use (common/protocol/reconnect_policy),
// and sends its unacknowledged alarm again, so that bench/ha/soak.sh can
// count what a failover costs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace huxiao::bench {

struct ServerEndpoint {
    std::string host;  // an IP address; also the name the server certificate is checked against
    int port = 0;
};

struct LoadOptions {
    std::vector<ServerEndpoint> servers;  // at least one; tried in turn
    std::filesystem::path ca;             // the CA that signed the server's certificate
    std::filesystem::path certs;          // <TERMINAL>.crt and <TERMINAL>.key
    std::string prefix = "T-B";  // terminal ids: prefix + number, zero-padded (terminal_id())
    int first = 1;
    int terminals = 1;
    double warmup_s = 2;
    double duration_s = 10;  // 0: until SIGINT or SIGTERM
    int threads = 1;
    int timeout_ms = 10'000;        // connect+hello, and alarm -> ack
    int connect_timeout_s = 60;     // for all terminals to be connected
    int retry_backoff_ms = 100;     // before retransmitting after `unavailable`
    int reconnect_first_ms = 100;   // back-off window after the first failure in a row
    int reconnect_cap_ms = 2000;    // the widest back-off window
    std::filesystem::path ack_log;  // when set: "WALL_MS TERMINAL ALARM INCIDENT SERVER" per ack
    std::string kind = "intrusion";
    bool strict = false;  // any error, timeout or disconnect fails the run
    // > 0: each terminal sends exactly this many alarms (acked or refused),
    // then stops; warmup_s and duration_s are ignored and every ack is
    // measured. A fixed amount of work, for instruction counts
    // (bench/callgrind.sh), where a fixed duration would not be stable.
    std::uint64_t alarms = 0;
    // Once every terminal is connected: ready_file is written, then the
    // alarms wait until go_file exists (so that a profiler can be reset
    // between the handshakes and the alarms). Empty: not used.
    std::filesystem::path ready_file;
    std::filesystem::path go_file;
};

struct LoadResult {
    int terminals = 0;
    int connected = 0;
    std::string first_connect_error;
    double connect_s = 0;
    double window_s = 0;     // as measured (shorter than asked when interrupted)
    std::uint64_t acks = 0;  // in the window
    std::uint64_t acks_total = 0;
    std::uint64_t sent = 0;  // alarm frames written, retransmissions included
    std::uint64_t retransmissions = 0;
    std::uint64_t failed = 0;  // alarms refused with a non-retryable error
    std::uint64_t timeouts = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t unacked_at_stop = 0;
    std::map<std::string, std::uint64_t> errors;  // error frames by code
    double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
    double client_cpu_s = 0;  // this process, during the window
    bool complete = true;     // every terminal finished its last alarm in time

    bool ok(bool strict) const;
    std::string to_json(const LoadOptions& options) const;
};

// "T-B" + 7 -> "T-B0007" (at least four digits).
std::string terminal_id(const std::string& prefix, int number);

LoadResult run_load(const LoadOptions& options);

}  // namespace huxiao::bench
