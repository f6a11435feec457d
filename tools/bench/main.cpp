// huxiao-bench: load generator for huxiaod's terminal listener (contract §1,
// "huxiao-bench"). See docs/performance.md and bench/ingest.sh.
#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tools/bench/console_flood.hpp"
#include "tools/bench/dispatch.hpp"
#include "tools/bench/flood.hpp"
#include "tools/bench/load.hpp"
#include "tools/bench/make_certs.hpp"
#include "tools/bench/pgbench_log.hpp"
#include "tools/bench/scale.hpp"

namespace {

constexpr const char* kUsage = R"(usage:
  huxiao-bench --make-certs DIR --terminals N [--prefix T-B] [--school-prefix S-B]
               [--units M] [--unit-prefix P-B]
      Writes a server certificate, a terminal CA, N terminal certificates
      (DIR/<TERMINAL>.crt/.key) and DIR/registry.json (one school per
      terminal, M patrol units spread over the schools' area) for
      `huxiaod import`.

  huxiao-bench dispatch --terminal-port P --api-port P --ca FILE --certs DIR
               --unit-tokens FILE [options]
      Alarm -> offer latency (bench/dispatch.sh). Connects N terminals (mutual
      TLS) and M patrol units (/ws/unit, WebSocket over TLS, one bearer token
      each from FILE: lines "UNIT_ID TOKEN"), then sends alarms at a fixed
      rate, round robin over the terminals (terminal i is of school
      SCHOOL_PREFIX i). Units accept every offer, report arrival and clear at
      once. Measures, on one steady clock, alarm frame written -> first offer
      of its incident read by a unit, and alarm -> ack. Prints one JSON line.
      --terminals N [500]  --units M [200]  --rate PER_S [50]
      --warmup S [2]  --duration S [20]  --drain S [15]  --threads 1|2 [1]
      --kind KIND [medical]  --host ADDR [127.0.0.1]
      --prefix T-B  --school-prefix S-B

  huxiao-bench flood --port P [--api] [options]
      Junk connections against one listener from one source address
      (bench/flood.sh): N slots, round robin idle TCP, half-open TLS, and a
      byte a minute (HTTP headers over TLS with --api, else a ClientHello).
      A slot the server closes reconnects after --reconnect S. Prints one
      JSON line: connects, closes by the server, most held at once.
      --connections N [10000]  --duration S [30]  --reconnect S [1]
      --from ADDR [127.0.0.2]  --host ADDR [127.0.0.1]  --slow-byte S [60]

  huxiao-bench console-flood --api-port P --ca FILE --token-file FILE [options]
      Dispatch consoles that ask for snapshots as fast as they can
      (bench/flood.sh, run "console"): each opens /ws/console with the bearer
      token in FILE and writes {"type":"snapshot"} back to back while it reads;
      a console the server closes reconnects after --reconnect S. Prints one
      JSON line: requests written, snapshots and errors received, closes.
      --consoles N [1]  --duration S [30]  --reconnect S [0.2]
      --host ADDR [127.0.0.1]

  huxiao-bench scale --port P --ca FILE --certs DIR [options]
      Connection scale (bench/scale.sh): N terminals connect (mutual TLS, each
      its own certificate DIR/PREFIXnnnn.crt), say hello and heartbeat; once
      all have their welcome it writes --ready-file and waits for the server
      to restart; the terminals reconnect with back-off, full jitter and TLS
      resumption; then terminals 1..S raise one alarm each, spread evenly
      over --storm-spread s. Prints one JSON line: connect and reconnect
      times, resumed handshakes, storm ack p50/p99, lost and doubled acks.
      --terminals N [20000]  --storm S [5000]  --storm-spread S [1]
      --from ADDR[,ADDR...] (loopback sources)  --threads 1|2 [2]
      --ready-file FILE  --alarm-id ID [A-storm]  --prefix T-B
      --connect-timeout S [300]  --restart-wait S [300]
      --reconnect-timeout S [120]  --storm-timeout S [120]
      --reconnect-first-ms MS [1000]  --reconnect-cap-ms MS [10000] the
      terminals' back-off windows (docs/terminals.md)

  huxiao-bench scale-handshakes --port P --ca FILE --certs DIR [options]
      TLS handshakes per second against a server that asks for the terminal
      certificate (huxiaod's terminal listener, or nginx with
      ssl_verify_client on): connect, handshake, wait for the first session
      ticket, close. With --resume each worker offers its last ticket.
      Prints one JSON line.
      --concurrency C [64]  --warmup S [1]  --duration S [5]  --resume
      --terminals K [100] (certificates used in turn)  --threads 1|2 [2]
      --from ADDR[,ADDR...]  --label NAME  --prefix T-B  --host ADDR

  huxiao-bench --port PORT --ca FILE --certs DIR --terminals N [options]
      Opens N mutual-TLS terminal connections (ids PREFIX0001...), sends hello,
      then each terminal sends alarms in a closed loop (the next only after the
      ack of the last). Prints one JSON line: acks per second and ack latency
      over the measured window, errors by code, timeouts, disconnects.
      --host ADDR          server address (default 127.0.0.1); also the name
                           the server certificate is checked against
      --server IP:PORT     instead of --host/--port, repeatable: servers tried
                           in turn (a hot-standby pair); a terminal that loses
                           its connection or is refused moves on to the next
                           with exponential back-off and full jitter
                           (docs/terminals.md) and sends its alarm again
      --reconnect-cap-ms MS  the widest back-off window (default 2000; the
                           first is 100 ms)
      --ack-log FILE       one line per ack: WALL_MS TERMINAL ALARM INCIDENT
                           IP:PORT (the server that acked)
                           (bench/ha/soak.sh checks them against the database)
      --prefix P           terminal id prefix (default T-B)
      --first K            first terminal number (default 1)
      --warmup S           seconds of load before measuring (default 2)
      --duration S         seconds measured (default 10); 0: until SIGINT or
                           SIGTERM (either also ends a timed run early)
      --threads 1|2        I/O threads (default 1)
      --timeout-ms MS      per connect+hello and per alarm->ack (default 10000)
      --connect-timeout S  for all terminals to connect (default 60)
      --kind KIND          alarm kind (default intrusion)
      --strict             exit 1 on any error frame, timeout or disconnect
      --alarms N           each terminal sends exactly N alarms, then stops
                           (instead of --warmup/--duration; every ack is
                           measured): a fixed amount of work (bench/callgrind.sh)
      --ready-file FILE    written once every terminal is connected
      --go-file FILE       then wait until FILE exists before the first alarm

  huxiao-bench --pgbench-log [--warmup S] [--duration S] FILE...
      Summarises pgbench per-transaction logs (pgbench -l) over the same
      window and with the same percentile rule as the terminal load (window
      from the start of pgbench's first transaction). Prints one JSON line.

Exit status: 0 when every terminal connected, acks were measured and every
terminal finished its last alarm (and, with --strict, nothing went wrong);
1 otherwise; 2 on a bad argument.
)";

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "huxiao-bench: %s\n\n%s", message.c_str(), kUsage);
    std::exit(2);
}

// "127.0.0.1:7443" (or "::1:7443"): an IP address to connect to and a port.
huxiao::bench::ServerEndpoint parse_server(const std::string& text) {
    const auto colon = text.rfind(':');
    const std::string host = colon == std::string::npos ? std::string() : text.substr(0, colon);
    const std::string digits = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(host, ec);
    if (ec || ip.is_unspecified()) usage_error("--server: \"" + text + "\" is not IP:PORT");
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) < 1 ||
        std::stoi(digits) > 65535) {
        usage_error("--server: \"" + text + "\": \"" + digits + "\" is not a port (1-65535)");
    }
    return {ip.to_string(), std::stoi(digits)};
}

}  // namespace

static int dispatch_main(const std::vector<std::string>& args) {
    using namespace huxiao::bench;
    DispatchOptions o;
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            const auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) usage_error(a + " needs a value");
                return args[++i];
            };
            if (a == "--host")
                o.host = value();
            else if (a == "--terminal-port")
                o.terminal_port = std::stoi(value());
            else if (a == "--api-port")
                o.api_port = std::stoi(value());
            else if (a == "--ca")
                o.ca = value();
            else if (a == "--certs")
                o.certs = value();
            else if (a == "--unit-tokens")
                o.unit_tokens = value();
            else if (a == "--prefix")
                o.prefix = value();
            else if (a == "--school-prefix")
                o.school_prefix = value();
            else if (a == "--terminals")
                o.terminals = std::stoi(value());
            else if (a == "--units")
                o.units = std::stoi(value());
            else if (a == "--rate")
                o.rate = std::stod(value());
            else if (a == "--warmup")
                o.warmup_s = std::stod(value());
            else if (a == "--duration")
                o.duration_s = std::stod(value());
            else if (a == "--drain")
                o.drain_s = std::stod(value());
            else if (a == "--threads")
                o.threads = std::stoi(value());
            else if (a == "--kind")
                o.kind = value();
            else
                usage_error("dispatch: unknown argument " + a);
        }
    } catch (const std::logic_error&) {
        usage_error("a numeric option has a value that is not a number");
    }
    if (o.terminal_port < 1 || o.terminal_port > 65535 || o.api_port < 1 || o.api_port > 65535) {
        usage_error("dispatch: --terminal-port and --api-port are required (1-65535)");
    }
    if (o.ca.empty() || o.certs.empty() || o.unit_tokens.empty()) {
        usage_error("dispatch: --ca, --certs and --unit-tokens are required");
    }
    if (o.terminals < 1 || o.units < 1 || o.rate <= 0 || o.duration_s <= 0 || o.warmup_s < 0 ||
        o.drain_s < 0 || o.threads < 1 || o.threads > 2) {
        usage_error(
            "dispatch: --terminals, --units, --rate, --duration must be positive, --threads 1 or "
            "2");
    }
    try {
        const DispatchResult result = run_dispatch(o);
        std::cout << result.to_json(o) << std::endl;
        return result.ok() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "huxiao-bench: %s\n", e.what());
        return 1;
    }
}

static int console_flood_main(const std::vector<std::string>& args) {
    using namespace huxiao::bench;
    ConsoleFloodOptions o;
    std::string token_file;
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            const auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) usage_error(a + " needs a value");
                return args[++i];
            };
            if (a == "--host")
                o.host = value();
            else if (a == "--api-port")
                o.api_port = std::stoi(value());
            else if (a == "--ca")
                o.ca = value();
            else if (a == "--token-file")
                token_file = value();
            else if (a == "--consoles")
                o.consoles = std::stoi(value());
            else if (a == "--duration")
                o.duration_s = std::stod(value());
            else if (a == "--reconnect")
                o.reconnect_s = std::stod(value());
            else
                usage_error("console-flood: unknown argument " + a);
        }
    } catch (const std::logic_error&) {
        usage_error("a numeric option has a value that is not a number");
    }
    if (o.api_port < 1 || o.api_port > 65535 || o.ca.empty() || token_file.empty() ||
        o.consoles < 1 || o.consoles > 100 || o.duration_s <= 0 || o.duration_s > 600 ||
        o.reconnect_s < 0.01) {
        usage_error(
            "console-flood: --api-port, --ca and --token-file are required; --consoles 1-100, "
            "--duration up to 600 s, --reconnect at least 0.01 s");
    }
    std::ifstream in(token_file);
    if (!(in >> o.token) || o.token.empty())
        usage_error("console-flood: no token in " + token_file);
    try {
        const ConsoleFloodResult result = run_console_flood(o);
        std::cout << result.to_json(o) << std::endl;
        return result.connects > 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "huxiao-bench: %s\n", e.what());
        return 1;
    }
}

static int flood_main(const std::vector<std::string>& args) {
    using namespace huxiao::bench;
    FloodOptions o;
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            const auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) usage_error(a + " needs a value");
                return args[++i];
            };
            if (a == "--host")
                o.host = value();
            else if (a == "--port")
                o.port = std::stoi(value());
            else if (a == "--from")
                o.from = value();
            else if (a == "--api")
                o.api = true;
            else if (a == "--connections")
                o.connections = std::stoi(value());
            else if (a == "--duration")
                o.duration_s = std::stod(value());
            else if (a == "--reconnect")
                o.reconnect_s = std::stod(value());
            else if (a == "--slow-byte")
                o.slow_byte_s = std::stod(value());
            else
                usage_error("flood: unknown argument " + a);
        }
    } catch (const std::logic_error&) {
        usage_error("a numeric option has a value that is not a number");
    }
    // Bounded on purpose: this is a benchmark for loopback, not a weapon.
    if (o.port < 1 || o.port > 65535 || o.connections < 1 || o.connections > 20000 ||
        o.duration_s <= 0 || o.duration_s > 600 || o.reconnect_s < 0.01 || o.slow_byte_s <= 0) {
        usage_error(
            "flood: --port 1-65535, --connections 1-20000, --duration up to 600 s, --reconnect at "
            "least 0.01 s");
    }
    for (const std::string* address : {&o.host, &o.from}) {
        boost::system::error_code ec;
        const auto ip = boost::asio::ip::make_address(*address, ec);
        if (ec || !ip.is_loopback())
            usage_error("flood: --host and --from must be loopback addresses");
    }
    try {
        const FloodResult result = run_flood(o);
        std::cout << result.to_json(o) << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "huxiao-bench: %s\n", e.what());
        return 1;
    }
}

static std::vector<std::string> split_addresses(const std::string& list) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t comma = list.find(',', start);
        const std::string one =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        boost::system::error_code ec;
        const auto ip = boost::asio::ip::make_address(one, ec);
        if (ec || !ip.is_loopback()) usage_error("--from takes loopback addresses: " + one);
        out.push_back(one);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

static int scale_main(const std::vector<std::string>& args, bool handshakes) {
    using namespace huxiao::bench;
    ScaleOptions o;
    HandshakeOptions h;
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            const auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) usage_error(a + " needs a value");
                return args[++i];
            };
            if (a == "--host")
                o.host = h.host = value();
            else if (a == "--port")
                o.port = h.port = std::stoi(value());
            else if (a == "--ca")
                o.ca = h.ca = value();
            else if (a == "--certs")
                o.certs = h.certs = value();
            else if (a == "--prefix")
                o.prefix = h.prefix = value();
            else if (a == "--terminals")
                o.terminals = h.terminals = std::stoi(value());
            else if (a == "--from")
                o.from = h.from = split_addresses(value());
            else if (a == "--threads")
                o.threads = h.threads = std::stoi(value());
            else if (!handshakes && a == "--ready-file")
                o.ready_file = value();
            else if (!handshakes && a == "--storm")
                o.storm = std::stoi(value());
            else if (!handshakes && a == "--storm-spread")
                o.storm_spread_s = std::stod(value());
            else if (!handshakes && a == "--alarm-id")
                o.alarm_id = value();
            else if (!handshakes && a == "--connect-timeout")
                o.connect_timeout_s = std::stod(value());
            else if (!handshakes && a == "--restart-wait")
                o.restart_wait_s = std::stod(value());
            else if (!handshakes && a == "--reconnect-timeout")
                o.reconnect_timeout_s = std::stod(value());
            else if (!handshakes && a == "--storm-timeout")
                o.storm_timeout_s = std::stod(value());
            else if (!handshakes && a == "--reconnect-first-ms")
                o.reconnect_first_ms = std::stoi(value());
            else if (!handshakes && a == "--reconnect-cap-ms")
                o.reconnect_cap_ms = std::stoi(value());
            else if (handshakes && a == "--concurrency")
                h.concurrency = std::stoi(value());
            else if (handshakes && a == "--warmup")
                h.warmup_s = std::stod(value());
            else if (handshakes && a == "--duration")
                h.duration_s = std::stod(value());
            else if (handshakes && a == "--resume")
                h.resume = true;
            else if (handshakes && a == "--label")
                h.label = value();
            else
                usage_error(std::string(handshakes ? "scale-handshakes" : "scale") +
                            ": unknown argument " + a);
        }
    } catch (const std::logic_error&) {
        usage_error("a numeric option has a value that is not a number");
    }
    boost::system::error_code ec;
    const auto host = boost::asio::ip::make_address(o.host, ec);
    // Bounded on purpose: loopback only, at most 100,000 terminals, 10 minutes.
    if (ec || !host.is_loopback()) usage_error("scale: --host must be a loopback address");
    if (o.port < 1 || o.port > 65535 || o.ca.empty() || o.certs.empty())
        usage_error("scale: --port, --ca and --certs are required");
    if (o.threads < 1 || o.threads > 2) usage_error("scale: --threads 1 or 2");
    if (o.terminals < 1 || o.terminals > 100000 || o.storm < 0 || o.storm_spread_s < 0 ||
        o.connect_timeout_s > 600 || o.restart_wait_s > 600 || o.reconnect_timeout_s > 600 ||
        o.storm_timeout_s > 600 || o.reconnect_first_ms < 1 ||
        o.reconnect_cap_ms < o.reconnect_first_ms || o.reconnect_cap_ms > 600'000 ||
        h.concurrency < 1 || h.concurrency > 1000 || h.duration_s <= 0 || h.duration_s > 600 ||
        h.warmup_s < 0) {
        usage_error(
            "scale: --terminals 1-100000, --concurrency 1-1000, durations and timeouts up to 600 "
            "s, 1 ms <= --reconnect-first-ms <= --reconnect-cap-ms <= 600000");
    }
    try {
        if (handshakes) {
            std::cout << run_handshakes(h) << std::endl;
            return 0;
        }
        bool complete = false;
        std::cout << run_scale(o, complete) << std::endl;
        return complete ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "huxiao-bench: %s\n", e.what());
        return 1;
    }
}

int main(int argc, char** argv) {
    using namespace huxiao::bench;
    if (argc > 1 &&
        (std::string(argv[1]) == "scale" || std::string(argv[1]) == "scale-handshakes")) {
        return scale_main(std::vector<std::string>(argv + 2, argv + argc),
                          std::string(argv[1]) == "scale-handshakes");
    }
    if (argc > 1 && std::string(argv[1]) == "dispatch") {
        return dispatch_main(std::vector<std::string>(argv + 2, argv + argc));
    }
    if (argc > 1 && std::string(argv[1]) == "console-flood") {
        return console_flood_main(std::vector<std::string>(argv + 2, argv + argc));
    }
    if (argc > 1 && std::string(argv[1]) == "flood") {
        return flood_main(std::vector<std::string>(argv + 2, argv + argc));
    }
    LoadOptions o;
    std::string host = "127.0.0.1";
    int port = 0;
    int units = 0;
    std::string unit_prefix = "P-B";
    std::string make_certs_dir;
    std::string school_prefix = "S-B";
    bool pgbench_log = false;
    std::vector<std::filesystem::path> files;
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            const auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) usage_error(a + " needs a value");
                return args[++i];
            };
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            } else if (a == "--make-certs") {
                make_certs_dir = value();
            } else if (a == "--pgbench-log") {
                pgbench_log = true;
            } else if (pgbench_log && !a.starts_with("--")) {
                files.emplace_back(a);
            } else if (a == "--school-prefix") {
                school_prefix = value();
            } else if (a == "--units") {
                units = std::stoi(value());
            } else if (a == "--unit-prefix") {
                unit_prefix = value();
            } else if (a == "--host") {
                host = value();
            } else if (a == "--port") {
                port = std::stoi(value());
            } else if (a == "--server") {
                o.servers.push_back(parse_server(value()));
            } else if (a == "--reconnect-cap-ms") {
                o.reconnect_cap_ms = std::stoi(value());
            } else if (a == "--ack-log") {
                o.ack_log = value();
            } else if (a == "--ca") {
                o.ca = value();
            } else if (a == "--certs") {
                o.certs = value();
            } else if (a == "--prefix") {
                o.prefix = value();
            } else if (a == "--first") {
                o.first = std::stoi(value());
            } else if (a == "--terminals") {
                o.terminals = std::stoi(value());
            } else if (a == "--warmup") {
                o.warmup_s = std::stod(value());
            } else if (a == "--duration") {
                o.duration_s = std::stod(value());
            } else if (a == "--threads") {
                o.threads = std::stoi(value());
            } else if (a == "--timeout-ms") {
                o.timeout_ms = std::stoi(value());
            } else if (a == "--connect-timeout") {
                o.connect_timeout_s = std::stoi(value());
            } else if (a == "--kind") {
                o.kind = value();
            } else if (a == "--alarms") {
                const long long n = std::stoll(value());
                if (n < 1) usage_error("--alarms must be at least 1");
                o.alarms = static_cast<std::uint64_t>(n);
            } else if (a == "--ready-file") {
                o.ready_file = value();
            } else if (a == "--go-file") {
                o.go_file = value();
            } else if (a == "--strict") {
                o.strict = true;
            } else {
                usage_error("unknown argument " + a);
            }
        }
    } catch (const std::logic_error&) {  // stoi/stod
        usage_error("a numeric option has a value that is not a number");
    }
    if (pgbench_log) {
        if (files.empty()) usage_error("--pgbench-log needs the log files");
        try {
            std::cout << summarise_pgbench_logs(files, o.warmup_s, o.duration_s) << std::endl;
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "huxiao-bench: %s\n", e.what());
            return 1;
        }
    }
    if (o.terminals < 1 || o.terminals > 100000)
        usage_error("--terminals must be between 1 and 100000");

    try {
        if (!make_certs_dir.empty()) {
            make_certs(make_certs_dir, o.terminals, o.prefix, school_prefix, units, unit_prefix);
            std::fprintf(stderr,
                         "huxiao-bench: wrote %d terminal certificates and registry.json to %s\n",
                         o.terminals, make_certs_dir.c_str());
            return 0;
        }
        if (o.servers.empty()) {
            if (port < 1 || port > 65535) usage_error("--port (1-65535) or --server is required");
            o.servers.push_back(parse_server(host + ":" + std::to_string(port)));
        } else if (port != 0) {
            usage_error("--port and --server exclude each other");
        }
        if (o.reconnect_cap_ms < o.reconnect_first_ms || o.reconnect_cap_ms > 600'000)
            usage_error("--reconnect-cap-ms must be between 100 and 600000");
        if (o.ca.empty()) usage_error("--ca is required");
        if (o.certs.empty()) usage_error("--certs is required");
        if (o.threads < 1 || o.threads > 2) usage_error("--threads must be 1 or 2");
        if (o.duration_s < 0 || o.warmup_s < 0) usage_error("--duration and --warmup must be >= 0");
        if (o.timeout_ms < 1) usage_error("--timeout-ms must be positive");
        const LoadResult result = run_load(o);
        std::cout << result.to_json(o) << std::endl;
        return result.ok(o.strict) ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "huxiao-bench: %s\n", e.what());
        return 1;
    }
}
