// huxiao-bench console-flood: dispatch consoles that ask for snapshots as fast
// as they can (bench/flood.sh, run "console"; issue #8 item 5). Each of N
// consoles opens /ws/console with a bearer token and writes
// {"type":"snapshot"} back to back, never waiting for an answer, while it
// reads whatever the server sends. When the server closes it (its answer to a
// console that keeps over-running the rate limit), it reconnects after a
// pause and goes on, until the duration is over. Meant for loopback.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace huxiao::bench {

struct ConsoleFloodOptions {
    std::string host = "127.0.0.1";
    int api_port = 0;
    std::filesystem::path ca;  // the CA that signed the server's certificate
    std::string token;         // a dispatcher (or any console) token, read from a file
    int consoles = 1;
    double duration_s = 30;
    double reconnect_s = 0.2;  // pause before a closed console connects again
};

struct ConsoleFloodResult {
    std::uint64_t connects = 0;                   // WebSocket sessions opened
    std::uint64_t connect_errors = 0;             // failed before the upgrade completed
    std::uint64_t requests = 0;                   // snapshot requests written
    std::uint64_t snapshots = 0;                  // snapshots received
    std::uint64_t snapshot_bytes = 0;             // their size in all
    std::uint64_t events = 0;                     // other messages (live events, terminals)
    std::uint64_t closed_by_server = 0;           // sessions the server ended
    std::map<std::string, std::uint64_t> errors;  // error messages by code
    std::string first_connect_error;
    double client_cpu_s = 0;
    std::string to_json(const ConsoleFloodOptions& o) const;
};

ConsoleFloodResult run_console_flood(const ConsoleFloodOptions& options);

}  // namespace huxiao::bench
