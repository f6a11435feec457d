// huxiao-bench flood: junk connections against one listener from one source
// address (bench/flood.sh, issue #8 item 2). Each of N slots holds one
// connection of its kind, round robin over the kinds:
//   idle  TCP connected, nothing sent;
//   tls   half-open TLS: the first bytes of a ClientHello, never the rest;
//   slow  a byte a minute: over TLS an HTTP request's headers (api), or a
//         ClientHello dribbled over TCP (terminal, which needs a certificate).
// A slot whose connection the server closes reconnects after a pause, until
// the duration is over. Bounded in count and time; meant for loopback.
#pragma once

#include <cstdint>
#include <string>

namespace huxiao::bench {

struct FloodOptions {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string from = "127.0.0.2";  // source address of every junk connection
    bool api = false;                // the target is the API listener (TLS then HTTP)
    int connections = 10000;
    double duration_s = 30;
    double reconnect_s = 1;  // pause before a closed slot connects again
    double slow_byte_s = 60;
};

struct FloodResult {
    std::uint64_t connects = 0;          // TCP connections established
    std::uint64_t connect_errors = 0;    // connect() failed (refused, out of ports...)
    std::uint64_t closed_by_server = 0;  // connections the server ended
    std::uint64_t tls_established = 0;   // slow API slots that completed TLS
    std::uint64_t max_open = 0;          // most connections open at once
    std::uint64_t open_at_end = 0;
    double client_cpu_s = 0;
    std::string to_json(const FloodOptions& o) const;
};

FloodResult run_flood(const FloodOptions& options);

}  // namespace huxiao::bench
