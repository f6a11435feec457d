// huxiao-sim: makes the demo city live (contract §1, issue 3). Every terminal
// of a registry file connects to huxiaod as a school alarm terminal, every
// patrol unit connects as a unit's mobile terminal, and alarms go off at
// random schools. The server does the dispatching; this program only plays
// the people at both ends and writes one line per step on stdout.
//
//   main.cpp          options, unit tokens, and the city: alarms, start, stop
//   terminal_sim.cpp  one school terminal (TLS, JSON lines)
//   dc09_panel_sim.cpp  one SIA DC-09 alarm panel (UDP; --dc09)
//   unit_sim.cpp      one patrol unit (WebSocket, driving)
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/dispatch/replay.hpp"
#include "common/model/registry_import.hpp"
#include "common/util/time_zone.hpp"
#include "server/app/dispatcher.hpp"
#include "server/db/pg_connection.hpp"
#include "server/db/recovery.hpp"
#include "server/db/registry_store.hpp"
#include "tools/sim/dc09_panel_sim.hpp"
#include "tools/sim/sim.hpp"
#include "tools/sim/terminal_sim.hpp"
#include "tools/sim/unit_sim.hpp"

namespace huxiao::sim {
namespace {

constexpr const char* kUsage =
    R"(usage: huxiao-sim --config FILE --certs DIR --registry FILE [options]

Simulated school terminals and patrol units for demos and drills.
  Terminals: every terminal of the registry connects to huxiaod's terminal
    listener with mutual TLS (DIR/terminals/<ID>.crt and .key; the server is
    checked against DIR/server-ca.crt), says hello and keeps heartbeating.
    Now and then a random terminal raises an alarm.
  Units: every unit of the registry connects to /ws/unit on the API listener
    with a token made for it at start-up, directly in the database (named
    sim-<UNIT>; tokens named sim-* from earlier runs are deleted first). Units
    report their position every 2 s, accept most offers, drive to the school
    in a straight line, stay on scene 10-30 s, clear and drive back to base.
    Units on a guard post (the registry's guard_posts) drive to their school
    before each window and hold position there until it closes; now and then
    a crew is late or misses a window. An incident comes first; the crew goes
    back to the gate afterwards if the window is still open.
  After a restart every unit picks up the open incidents the server still
  counts it in (offered, accepted, en route, on scene) and sees them through.
One line per step on stdout. Connections that drop are made again, with backoff.

  --config FILE       huxiaod's configuration file (listeners, database)
  --certs DIR         certificates in the layout of config/dev-certs.sh
  --registry FILE     registry file with the terminals and units (contract §7)
  --alarm-every S     mean seconds between alarms across the city (default 20)
  --speed-kmh V       driving speed of the units (default 40)
  --drill-share P     share of alarms that are drills, 0-1 (default 0.2)
  --decline-share P   share of offers the units decline, 0-1 (default 0.15)
  --duration S        stop after S seconds; 0 = until SIGINT/SIGTERM (default 0)
  --seed N            random seed (default: a random one)
  --server IP:TPORT:APORT
                      a huxiaod to connect to: its terminal and API ports;
                      repeat for a hot-standby pair, tried in turn (default:
                      the listeners of --config). Clients reconnect with
                      exponential back-off and full jitter (docs/terminals.md)
  --dc09              terminals with a "dc09" identity in the registry are
                      simulated as SIA DC-09 panels instead (UDP to the
                      dc09_listener, which must be enabled; encrypted when
                      the identity has a key_hex, else plain SIA)

Exit status: 0 after a clean stop, 1 when start-up fails, 2 on a bad argument.
)";

struct Options {
    std::filesystem::path config;
    std::filesystem::path certs;
    std::filesystem::path registry;
    double alarm_every_s = 20;
    double speed_kmh = 40;
    double drill_share = 0.2;
    double decline_share = 0.15;
    double duration_s = 0;
    std::optional<std::uint64_t> seed;
    bool dc09 = false;
    std::string dc09_where;              // for the start-up line
    std::vector<ServerAddress> servers;  // --server, in order
};

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "huxiao-sim: %s\n\n%s", message.c_str(), kUsage);
    std::exit(2);
}

// "127.0.0.1:7443:8443" or "::1:7443:8443": the last two fields are the
// terminal and API ports.
ServerAddress parse_server(const std::string& text) {
    const auto api_colon = text.rfind(':');
    const auto terminal_colon = api_colon == std::string::npos || api_colon == 0
                                    ? std::string::npos
                                    : text.rfind(':', api_colon - 1);
    if (terminal_colon == std::string::npos) {
        usage_error("--server: \"" + text + "\" is not IP:TERMINAL_PORT:API_PORT");
    }
    const auto port = [&text](const std::string& digits) {
        if (digits.empty() || digits.size() > 5 ||
            digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) < 1 ||
            std::stoi(digits) > 65535) {
            usage_error("--server: \"" + text + "\": \"" + digits + "\" is not a port (1-65535)");
        }
        return static_cast<unsigned short>(std::stoi(digits));
    };
    const std::string host = text.substr(0, terminal_colon);
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (ec || ip.is_unspecified()) {
        usage_error("--server: \"" + host + "\" is not an IP address to connect to");
    }
    return {
        tcp::endpoint(ip, port(text.substr(terminal_colon + 1, api_colon - terminal_colon - 1))),
        tcp::endpoint(ip, port(text.substr(api_colon + 1))), ip.to_string()};
}

// `range` says in words what [lo, hi] is, for the error message.
template <typename Number>
Number parse_number(const std::string& option, const std::string& text, Number lo, Number hi,
                    const char* range) {
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || !(value >= lo && value <= hi)) {
        usage_error(option + " " + text + ": expected " + range);
    }
    return value;
}

Options parse_options(const std::vector<std::string>& args) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) usage_error(a + " needs a value");
            return args[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--config") {
            o.config = value();
        } else if (a == "--certs") {
            o.certs = value();
        } else if (a == "--registry") {
            o.registry = value();
        } else if (a == "--alarm-every") {
            o.alarm_every_s = parse_number(a, value(), 0.1, 86400.0, "seconds from 0.1 to 86400");
        } else if (a == "--speed-kmh") {
            o.speed_kmh = parse_number(a, value(), 1.0, 1000.0, "km/h from 1 to 1000");
        } else if (a == "--drill-share") {
            o.drill_share = parse_number(a, value(), 0.0, 1.0, "a share from 0 to 1");
        } else if (a == "--decline-share") {
            o.decline_share = parse_number(a, value(), 0.0, 1.0, "a share from 0 to 1");
        } else if (a == "--duration") {
            o.duration_s = parse_number(a, value(), 0.0, 1e9, "seconds, 0 or more");
        } else if (a == "--server") {
            o.servers.push_back(parse_server(value()));
        } else if (a == "--dc09") {
            o.dc09 = true;
        } else if (a == "--seed") {
            o.seed = parse_number<std::uint64_t>(a, value(), 0, UINT64_MAX, "a whole number");
        } else {
            usage_error("unknown argument \"" + a + "\"");
        }
    }
    if (o.config.empty()) usage_error("--config is required");
    if (o.certs.empty()) usage_error("--certs is required");
    if (o.registry.empty()) usage_error("--registry is required");
    return o;
}

Registry read_registry(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read the registry file " + file.string());
    std::stringstream text;
    text << in.rdbuf();
    RegistryParse parsed = parse_registry(text.str(), KnownIds{});
    if (!parsed.errors.empty()) {
        throw std::runtime_error(file.string() + ": " + parsed.errors.front() +
                                 (parsed.errors.size() > 1 ? " (and more)" : ""));
    }
    return std::move(parsed.registry);
}

// A unit the server still counts in on an open incident, left by an earlier
// run (or by this simulator before the server restarted).
struct Resumable {
    UnitSim::Job job;
    bool arrived = false;
};

// What the simulator needs from the database before it starts.
struct DatabaseState {
    std::map<std::string, std::string> tokens;  // unit id → bearer token
    std::map<std::string, Resumable> resume;    // unit id → its open assignment
};

dispatch::CoreConfig core_config(const DispatchConfig& d) {
    dispatch::CoreConfig c;
    c.offer_timeout_s = d.offer_timeout_s;
    c.arrival_radius_m = d.arrival_radius_m;
    c.road_factor = d.road_factor;
    c.speed_kmh = d.speed_kmh;
    c.unit_stale_s = d.unit_stale_s;
    c.units_required = {d.units_required.begin(), d.units_required.end()};
    return c;
}

// Replays the timelines of the open incidents as the server does at start-up,
// and picks out the units that accepted and have not cleared.
std::map<std::string, Resumable> open_assignments(db::PgSync& db, const Config& config,
                                                  const Registry& registry) {
    std::map<std::string, GeoPoint> schools;
    for (const School& s : registry.schools) schools[s.id] = s.location;
    std::map<std::string, Resumable> assignments;
    for (const RecoveredIncident& open : db::load_open_incidents(db).open_incidents) {
        const auto incident =
            dispatch::replay_incident(open.header, open.timeline, core_config(config.dispatch));
        const auto school = incident ? schools.find(incident->school) : schools.end();
        if (school == schools.end()) continue;
        for (const dispatch::Assignment& a : incident->assignments) {
            if (a.progress == dispatch::UnitProgress::cleared) continue;
            assignments[a.unit] =
                Resumable{UnitSim::Job{incident->id, incident->kind, incident->school,
                                       school->second, std::lround(a.eta_s)},
                          a.arrived};
        }
    }
    return assignments;
}

// One fresh token per unit, made directly in the database as `huxiaod token
// create` would (in one transaction, after deleting the sim-* tokens of
// earlier runs), and the open assignments to resume.
DatabaseState read_and_prepare_database(const Config& config, const Registry& registry) {
    db::PgSync db(config.database.url, config.database.connect_timeout_s);
    DatabaseState state;
    db.exec("BEGIN");
    db.exec("DELETE FROM api_tokens WHERE name LIKE 'sim-%'");
    for (const Unit& unit : registry.units) {
        state.tokens[unit.id] =
            db::create_token(db, db::TokenInfo{"sim-" + unit.id, "unit", unit.id, {}});
    }
    db.exec("COMMIT");
    try {
        state.resume = open_assignments(db, config, registry);
    } catch (const std::exception& e) {  // a nicety: never a reason not to start
        say("cannot read the open incidents to resume (" + std::string(e.what()) +
            "); every unit starts free at base");
    }
    return state;
}

// Where to connect for a listener bound to `address`: a wildcard address
// means this machine.
asio::ip::address connect_address(const std::string& address) {
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(address, ec);
    if (ec) throw std::runtime_error("listener address \"" + address + "\" is not an IP address");
    if (!a.is_unspecified()) return a;
    return a.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                     : asio::ip::address(asio::ip::address_v6::loopback());
}

// Part of every alarm id, so that ids stay unique across runs on the same
// database: the start time in seconds, base 36 (e.g. "t3k9qz").
std::string run_tag() {
    auto n = static_cast<unsigned long long>(wall_now_micros() / 1'000'000);
    std::string tag;
    do {
        tag.insert(tag.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36]);
        n /= 36;
    } while (n != 0);
    return tag;
}

// 20, 0.5, 12.25: as short as the number allows.
std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

// The alarm kinds of contract §3, how often each comes up, and what the
// caller might say.
struct AlarmKind {
    const char* kind;
    double weight;
    const char* notes[3];
};

// clang-format off
constexpr AlarmKind kAlarmKinds[] = {
    {"intrusion", 3, {"stranger climbing the east fence", "man with a knife at gate 2",
                      "unknown adult in building B"}},
    {"assault",   2, {"fight at the main gate", "teacher attacked in the car park",
                      "pupils attacked outside the canteen"}},
    {"medical",   3, {"pupil collapsed in PE class", "allergic reaction in the canteen",
                      "teacher fainted in class 3-2"}},
    {"fire",      1, {"smoke from the chemistry lab", "fire in the kitchen",
                      "burning smell in the gym"}},
    {"bullying",  3, {"group cornering a pupil behind the gym", "fight in the toilets",
                      "threats at the back gate"}},
    {"self_harm", 1, {"pupil on the roof of building A", "pupil threatening to hurt herself",
                      "pupil found injured"}},
    {"drowning",  1, {"pupil in difficulty in the pool", "child fell into the pond",
                      "accident in the swimming lesson"}},
    {"traffic",   2, {"car hit a pupil at the crossing", "collision at the school gate",
                      "school bus accident"}},
    {"other",     2, {"suspicious parcel at reception", "gas smell in the corridor",
                      "parents quarrelling at the gate"}},
};
// clang-format on

// The whole city: its terminals and units, the random alarms, and stopping.
class City {
  public:
    City(SimContext& ctx, const Options& options, const Registry& registry,
         const DatabaseState& database, const Config& config)
        : ctx_(ctx),
          options_(options),
          resume_(database.resume),
          unit_tls_(ssl::context::tls_client),
          alarm_timer_(ctx.io),
          duration_timer_(ctx.io),
          watch_timer_(ctx.io),
          signals_(ctx.io, SIGINT, SIGTERM) {
        SSL_CTX_set_min_proto_version(unit_tls_.native_handle(), TLS1_2_VERSION);
        unit_tls_.load_verify_file(ctx.server_ca);
        unit_tls_.set_verify_mode(ssl::verify_peer);
        for (const Terminal& t : registry.terminals) {
            if (!t.enabled) continue;  // the server would turn it away
            if (options.dc09 && t.dc09) {
                const auto& d = config.dc09_listener;
                const asio::ip::udp::endpoint server(connect_address(d.address),
                                                     static_cast<unsigned short>(d.port));
                panels_.push_back(std::make_unique<Dc09PanelSim>(
                    ctx, t, server, std::max(1, config.supervision.heartbeat_s)));
                continue;
            }
            terminals_.push_back(std::make_unique<TerminalSim>(ctx, t.id, t.school, options.certs));
        }
        std::map<std::string, GeoPoint> schools;
        for (const School& s : registry.schools) schools[s.id] = s.location;
        for (const Unit& u : registry.units) {
            units_.push_back(
                std::make_unique<UnitSim>(ctx, u, database.tokens.at(u.id), unit_tls_));
            // A unit keeps its first post (the demo city has one per unit).
            for (const GuardPost& g : registry.guard_posts) {
                if (g.unit != u.id || !schools.count(g.school)) continue;
                if (auto zone = TimeZone::locate(g.tz)) {
                    units_.back()->keep_post(g, schools[g.school], std::move(zone));
                    ++posts_;
                } else {
                    say(u.id + " cannot keep its guard post at " + g.school + ": time zone \"" +
                        g.tz + "\" is not in the tz database");
                }
                break;
            }
        }
    }

    void start() {
        const auto where = [](const tcp::endpoint& e) {
            return e.address().to_string() + ":" + std::to_string(e.port());
        };
        std::string terminal_listeners, api_listeners;
        for (const ServerAddress& s : ctx_.servers) {
            terminal_listeners += (terminal_listeners.empty() ? "" : " or ") + where(s.terminal);
            api_listeners += (api_listeners.empty() ? "" : " or ") + where(s.api);
        }
        say("huxiao-sim: " + std::to_string(terminals_.size()) + " terminals → " +
            terminal_listeners + ", " + std::to_string(units_.size()) + " units → " +
            api_listeners + " /ws/unit");
        say("an alarm every " + number_text(options_.alarm_every_s) + " s on average (" +
            number_text(options_.drill_share * 100) + " % drills); units drive at " +
            number_text(options_.speed_kmh) + " km/h and decline " +
            number_text(options_.decline_share * 100) + " % of offers; " + std::to_string(posts_) +
            " units keep guard posts");
        for (auto& u : units_) {
            if (auto it = resume_.find(u->id()); it != resume_.end()) {
                u->resume(it->second.job, it->second.arrived);
            }
        }
        signals_.async_wait([this](boost::system::error_code ec, int signal) {
            if (!ec) stop(signal == SIGINT ? "SIGINT" : "SIGTERM");
        });
        if (options_.duration_s > 0) {
            duration_timer_.expires_after(
                std::chrono::milliseconds(static_cast<long long>(options_.duration_s * 1000)));
            duration_timer_.async_wait([this](boost::system::error_code ec) {
                if (!ec) stop("--duration is over");
            });
        }
        if (!panels_.empty()) {
            const auto encrypted = std::count_if(panels_.begin(), panels_.end(),
                                                 [](const auto& p) { return p->encrypted(); });
            say(std::to_string(panels_.size()) + " DC-09 panels (" + std::to_string(encrypted) +
                " encrypted) → udp " + options_.dc09_where);
        }
        for (auto& t : terminals_) t->start();
        for (auto& p : panels_) p->start();
        for (auto& u : units_) u->start();
        watch_online();
        schedule_alarm();
    }

    // Closes every connection; run() returns once they are all closed.
    void stop(const std::string& why) {
        if (ctx_.stopping) return;
        ctx_.stopping = true;
        say("stopping (" + why + ")");
        alarm_timer_.cancel();
        duration_timer_.cancel();
        watch_timer_.cancel();
        signals_.cancel();
        for (auto& t : terminals_) t->stop();
        for (auto& p : panels_) p->stop();
        for (auto& u : units_) u->stop();
    }

  private:
    struct OnlineCount {
        long terminals = -1;
        long units = -1;
        bool operator==(const OnlineCount&) const = default;
    };

    OnlineCount count_online() const {
        OnlineCount n;
        n.terminals = std::count_if(terminals_.begin(), terminals_.end(),
                                    [](const auto& t) { return t->online(); }) +
                      std::count_if(panels_.begin(), panels_.end(),
                                    [](const auto& p) { return p->online(); });
        n.units =
            std::count_if(units_.begin(), units_.end(), [](const auto& u) { return u->online(); });
        return n;
    }

    // Every second: says how many are online when that has changed and
    // settled (the same for two checks), or when everyone is.
    void watch_online() {
        const OnlineCount now = count_online();
        const bool all = now.terminals == static_cast<long>(terminals_.size() + panels_.size()) &&
                         now.units == static_cast<long>(units_.size());
        if (now != said_ && (now == last_check_ || all)) {
            std::string text = std::to_string(now.terminals) + " of " +
                               std::to_string(terminals_.size() + panels_.size()) +
                               " terminals and " + std::to_string(now.units) + " of " +
                               std::to_string(units_.size()) + " units online";
            if (!all && !ctx_.network_problem.empty()) {
                text += " (" + ctx_.network_problem + "); trying again";
            }
            say(text);
            said_ = now;
        }
        if (all) ctx_.network_problem.clear();
        last_check_ = now;
        watch_timer_.expires_after(std::chrono::seconds(1));
        watch_timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) watch_online();
        });
    }

    // Alarms come as a Poisson process: exponential gaps with the given mean.
    void schedule_alarm() {
        const double gap_s =
            std::exponential_distribution<double>(1.0 / options_.alarm_every_s)(ctx_.rng);
        alarm_timer_.expires_after(std::chrono::milliseconds(static_cast<long long>(gap_s * 1000)));
        alarm_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            raise_random_alarm();
            schedule_alarm();
        });
    }

    void raise_random_alarm() {
        // TLS terminals and DC-09 panels alike.
        std::vector<std::function<void(const std::string&, bool, const std::string&)>> online;
        for (auto& t : terminals_) {
            if (t->online()) {
                online.push_back(
                    [t = t.get()](const std::string& kind, bool drill, const std::string& note) {
                        t->raise_alarm(kind, drill, note);
                    });
            }
        }
        for (auto& p : panels_) {
            if (p->online()) {
                online.push_back(
                    [p = p.get()](const std::string& kind, bool drill, const std::string& note) {
                        p->raise_alarm(kind, drill, note);
                    });
            }
        }
        if (online.empty()) {
            say("no terminal is online; no alarm this time");
            return;
        }
        const auto pick = [this](std::size_t n) {
            return std::uniform_int_distribution<std::size_t>(0, n - 1)(ctx_.rng);
        };
        std::vector<double> weights;
        for (const AlarmKind& k : kAlarmKinds) weights.push_back(k.weight);
        const std::size_t which =
            std::discrete_distribution<std::size_t>(weights.begin(), weights.end())(ctx_.rng);
        const AlarmKind& kind = kAlarmKinds[which];
        const auto& raise = online[pick(online.size())];
        const char* note = kind.notes[pick(std::size(kind.notes))];
        raise(kind.kind, ctx_.chance(options_.drill_share), note);
    }

    SimContext& ctx_;
    const Options& options_;
    std::map<std::string, Resumable> resume_;  // unit id → the incident it picks up at start
    ssl::context unit_tls_;  // shared by the units: they have no client certificate
    std::vector<std::unique_ptr<TerminalSim>> terminals_;
    std::vector<std::unique_ptr<Dc09PanelSim>> panels_;
    std::vector<std::unique_ptr<UnitSim>> units_;
    asio::steady_timer alarm_timer_;
    asio::steady_timer duration_timer_;
    asio::steady_timer watch_timer_;
    asio::signal_set signals_;
    int posts_ = 0;     // units keeping a guard post
    OnlineCount said_;  // last said
    OnlineCount last_check_;
};

void print_summary(const Counters& c) {
    say("summary: " + std::to_string(c.alarms_acked) + " alarms acknowledged (" +
        std::to_string(c.alarms_retried) + " times `unavailable`), " + std::to_string(c.offers) +
        " offers (" + std::to_string(c.accepted) + " accepted, " + std::to_string(c.declined) +
        " declined), " + std::to_string(c.arrivals) + " arrivals, " + std::to_string(c.clears) +
        " clears, " + std::to_string(c.reconnects) + " reconnections (" +
        std::to_string(c.tls_resumed) + " terminal TLS sessions resumed), " +
        std::to_string(c.post_windows) + " guard-post windows (" + std::to_string(c.post_late) +
        " late, " + std::to_string(c.post_missed) + " missed)");
}

int run(const Options& options) {
    const Config config = load_config_file(options.config);
    const Registry registry = read_registry(options.registry);
    if (registry.terminals.empty() && registry.units.empty()) {
        throw std::runtime_error(options.registry.string() + " has neither terminals nor units");
    }
    asio::io_context io(1);
    SimContext ctx{io};
    if (options.servers.empty()) {
        // The one server of the configuration file.
        const auto terminal_address = connect_address(config.terminal_listener.address);
        const auto api_address = connect_address(config.api_listener.address);
        ctx.servers.push_back(
            {tcp::endpoint(terminal_address,
                           static_cast<unsigned short>(config.terminal_listener.port)),
             tcp::endpoint(api_address, static_cast<unsigned short>(config.api_listener.port)),
             terminal_address.to_string()});
    } else {
        ctx.servers = options.servers;
    }
    ctx.server_ca = (options.certs / "server-ca.crt").string();
    if (!std::filesystem::exists(ctx.server_ca)) {
        throw std::runtime_error("no " + ctx.server_ca + " (config/dev-certs.sh makes it)");
    }
    DatabaseState database;
    try {
        database = read_and_prepare_database(config, registry);
    } catch (const std::exception& e) {
        const std::string what = e.what();
        throw std::runtime_error("cannot make the unit tokens: " + what +
                                 (what.find("unknown unit") != std::string::npos
                                      ? " (import the registry first: huxiaod import)"
                                      : ""));
    }
    ctx.speed_kmh = options.speed_kmh;
    ctx.arrival_radius_m = config.dispatch.arrival_radius_m;
    ctx.decline_share = options.decline_share;
    ctx.run_tag = run_tag();
    ctx.rng.seed(options.seed ? *options.seed : std::random_device{}());

    if (options.dc09 && !config.dc09_listener.enabled) {
        throw std::runtime_error("--dc09: dc09_listener is not enabled in " +
                                 options.config.string());
    }
    Options with_where = options;
    with_where.dc09_where =
        config.dc09_listener.address + ":" + std::to_string(config.dc09_listener.port);
    City city(ctx, with_where, registry, database, config);
    city.start();
    // run() returns when every connection and timer is done. Should a peer
    // not finish its close handshake, give up 5 s after the stop.
    std::optional<Clock::time_point> give_up;
    for (;;) {
        io.run_for(std::chrono::milliseconds(200));
        if (io.stopped()) break;
        if (ctx.stopping && !give_up) give_up = Clock::now() + std::chrono::seconds(5);
        if (give_up && Clock::now() > *give_up) {
            say("some connections did not close within 5 s; leaving anyway");
            break;
        }
    }
    print_summary(ctx.counters);
    return 0;
}

}  // namespace
}  // namespace huxiao::sim

int main(int argc, char** argv) {
    const auto options =
        huxiao::sim::parse_options(std::vector<std::string>(argv + 1, argv + argc));
    try {
        return huxiao::sim::run(options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "huxiao-sim: %s\n", e.what());
        return 1;
    }
}
