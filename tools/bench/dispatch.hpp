// huxiao-bench dispatch: alarm -> offer latency (issue 3, "End to end";
// docs/performance.md, "Dispatch latency"). In one process, on one steady
// clock: N mutual-TLS terminals send alarms at a fixed rate (open loop), and
// M patrol units on /ws/unit (WebSocket over TLS, bearer tokens) receive the
// offers. The latency of an alarm is from just before its frame is written
// to the terminal's socket to the moment the first offer of its incident is
// read by any unit. Units accept, report arrival and clear at once, so every
// incident resolves within milliseconds and the unit is free again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace huxiao::bench {

struct DispatchOptions {
    std::string host = "127.0.0.1";
    int terminal_port = 0;
    int api_port = 0;
    std::filesystem::path ca;           // the CA that signed the server's certificate
    std::filesystem::path certs;        // <TERMINAL>.crt and <TERMINAL>.key
    std::filesystem::path unit_tokens;  // lines "UNIT_ID TOKEN"
    std::string prefix = "T-B";
    std::string school_prefix =
        "S-B";  // terminal i belongs to school terminal_id(school_prefix, i)
    int terminals = 500;
    int units = 200;
    double rate = 50;  // alarms per second, round robin over the terminals
    double warmup_s = 2;
    double duration_s = 20;
    double drain_s = 15;  // after the last alarm: wait this long at most for offers and acks
    int threads = 1;
    int connect_timeout_s = 60;
    std::string kind = "medical";  // units_required 1 by default
};

struct Percentiles {
    std::uint64_t count = 0;
    double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

struct DispatchResult {
    int terminals = 0, terminals_connected = 0;
    int units = 0, units_connected = 0;
    std::string first_connect_error;
    double connect_s = 0;
    std::uint64_t alarms_sent = 0;          // all, warm-up included
    std::uint64_t alarms_measured = 0;      // sent in the measured window
    std::uint64_t offers_received = 0;      // every offer frame at every unit
    std::uint64_t first_offers = 0;         // first offer of an incident, matched to its alarm
    std::uint64_t unmatched_offers = 0;     // a first offer with no alarm of its school waiting
    std::uint64_t missing_offers = 0;       // measured alarms that never saw an offer
    std::uint64_t missing_acks = 0;         // measured alarms that never saw an ack
    std::uint64_t incident_mismatches = 0;  // ack's incident != offer's incident
    std::uint64_t skipped_busy = 0;         // an alarm not sent: its terminal was still writing
    std::uint64_t disconnects = 0;
    std::map<std::string, std::uint64_t> terminal_errors, unit_errors;  // error frames by code
    std::uint64_t unit_paced_waits = 0;  // 10 ms waits of a unit keeping to the message limit
    Percentiles offer;                   // alarm sent -> first offer read (measured window)
    Percentiles ack;                     // alarm sent -> ack read (measured window)
    double client_cpu_s = 0;

    bool ok() const;
    std::string to_json(const DispatchOptions& options) const;
};

DispatchResult run_dispatch(const DispatchOptions& options);

}  // namespace huxiao::bench
