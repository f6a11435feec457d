#include "server/wiring/server.hpp"

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "server/api/api_router.hpp"
#include "server/api/api_routes.hpp"
#include "server/app/auth.hpp"
#include "server/app/dc09_intake.hpp"
#include "server/app/dispatcher.hpp"
#include "server/app/leadership.hpp"
#include "server/app/registry_holder.hpp"
#include "server/app/unit_channel.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"
#include "server/base/metrics.hpp"
#include "server/base/process_metrics.hpp"
#include "server/db/change_listener.hpp"
#include "server/db/incident_log.hpp"
#include "server/db/migrations.hpp"
#include "server/db/pg_connection.hpp"
#include "server/db/read_db.hpp"
#include "server/db/recovery.hpp"
#include "server/db/registry_store.hpp"
#include "server/net/api_listener.hpp"
#include "server/net/dc09_listener.hpp"
#include "server/net/terminal_listener.hpp"
#include "server/sessions/tls.hpp"
#include "server/wiring/config_reloader.hpp"
#include "server/wiring/process_restart.hpp"
#include "server/wiring/service_notify.hpp"

namespace huxiao {

namespace asio = boost::asio;

struct Server::Parts {
    Metrics metrics;
    std::unique_ptr<RegistryHolder> registry;
    std::unique_ptr<db::ReadDb> read_db;
    std::unique_ptr<TokenAuthenticator> auth;
    std::unique_ptr<ApiRouter> router;
    std::shared_ptr<net::ApiListener> api;
    std::unique_ptr<db::IncidentLog> log;
    std::unique_ptr<Dispatcher> dispatcher;
    std::shared_ptr<net::TerminalListener> terminals;
    std::unique_ptr<Dc09Intake> dc09_intake;
    std::shared_ptr<net::Dc09Listener> dc09;
    std::unique_ptr<asio::signal_set> signals;
    // SIGHUP's default action ends the process: it is caught from the start.
    std::unique_ptr<asio::signal_set> reload_signal;
    std::unique_ptr<ConfigReloader> reloader;
    std::unique_ptr<asio::steady_timer> watchdog;
    std::shared_ptr<db::ChangeListener> changes;
    std::atomic<bool> stopping{false};
    // Contract §8. Without `ha`, the server leads from the start. With it,
    // the leader's parts (log, dispatcher, terminal and DC-09 listeners) are
    // made only once the lease is ours; `leading` is set after them, so
    // whoever reads it true may use them.
    std::unique_ptr<Leadership> leadership;
    std::unique_ptr<asio::steady_timer> lease_check;
    std::atomic<bool> leading{false};
    // Registry reloads (blocking libpq). Last, so it is joined first, while
    // what its tasks touch still exists.
    asio::thread_pool blocking{1};
};

namespace {

// Every connection is a descriptor: the soft limit (1024 under systemd) is
// raised to the hard one, and a configuration that cannot fit is named.
void raise_descriptor_limit(const Config& c) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    const auto& t = c.terminal_listener;
    const auto& a = c.api_listener;
    // Connections of both budgets on both listeners, database connections
    // (write pool, read pool, reloads) and a margin for files and the process.
    const rlim_t needed = static_cast<rlim_t>(t.max_connections) + t.max_unauthenticated +
                          a.max_connections + a.max_unauthenticated + c.database.pool_size + 64;
    const std::string have =
        limit.rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_cur);
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        log_warn("server", "open file limit " + have + " is below the " + std::to_string(needed) +
                               " that the configured connection limits can use; raise the hard "
                               "limit (LimitNOFILE=) or lower max_connections/max_unauthenticated");
    } else {
        log_info("server", "open file limit " + have);
    }
}

}  // namespace

Server::Server(Config config, std::filesystem::path config_file)
    : config_(std::move(config)),
      config_file_(std::move(config_file)),
      clock_(system_clock()),
      parts_(std::make_unique<Parts>()) {}

Server::~Server() = default;

void Server::start() {
    auto& p = *parts_;
    p.reload_signal = std::make_unique<asio::signal_set>(io_, SIGHUP);
    open_database();
    p.read_db = std::make_unique<db::ReadDb>(io_.get_executor(), config_.database, 2);
    p.read_db->start();
    p.auth = std::make_unique<TokenAuthenticator>(*p.read_db);
    p.auth->on_revoked([&p](const std::string& name) {
        if (p.leading) p.dispatcher->revoke_token(name);
    });
    raise_descriptor_limit(config_);
    add_metrics();
    // A single server leads from the start, before its API listener opens,
    // as it always has.
    if (!config_.ha.enabled) become_leader(0);

    add_routes();
    watch_database_changes();
    open_api_listener();

    p.signals = std::make_unique<asio::signal_set>(io_, SIGINT, SIGTERM);
    p.signals->async_wait([this](boost::system::error_code ec, int signal) {
        if (!ec) {
            log_info("server", std::string("received ") +
                                   (signal == SIGTERM ? "SIGTERM" : "SIGINT") + "; draining");
            request_stop();
        }
    });

    await_reload_signal();

    if (config_.ha.enabled) start_leadership();

    // Listening (as leader or standby): a service manager may now count us
    // as started (packaging/huxiaod.service, Type=notify).
    notify_service_manager("READY=1");
    if (auto interval = watchdog_interval()) {
        p.watchdog = std::make_unique<asio::steady_timer>(io_);
        keep_watchdog_fed(*interval);
    }
}

// Migrations and the registry, before anything listens. A single server
// that cannot reach its database at start says so and exits. A server of
// several (ha) waits: it may be a leader that has just stepped down because
// the database went away, and without the database nobody can lead anyway.
void Server::open_database() {
    auto& p = *parts_;
    for (int attempt = 1;; ++attempt) {
        try {
            db::PgSync db(config_.database.url, config_.database.connect_timeout_s);
            for (const auto& name : db::apply_migrations(db))
                log_info("migrate", "applied " + name);
            p.registry = std::make_unique<RegistryHolder>(db::load_registry(db));
            break;
        } catch (const std::exception& e) {
            if (!config_.ha.enabled) throw;
            // Every quarter second (a database failover ends at an unknown
            // moment, and the first server back leads); said every 30 s.
            if (attempt == 1 || attempt % 120 == 0) {
                log_warn("server", std::string("waiting for the database: ") + e.what());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    }
}

// A fresh registry snapshot, read off the I/O threads; sessions keep the
// old one until they next look. After an admin API write and after a
// change made outside this server (sql/011's notices).
void Server::reload_registry_later(std::string why) {
    auto& p = *parts_;
    asio::post(p.blocking, [this, &p, why = std::move(why)] {
        try {
            db::PgSync db(config_.database.url, config_.database.connect_timeout_s);
            Registry fresh = db::load_registry(db);
            // New hellos are checked against it first; then the
            // Dispatcher ends the sessions it no longer allows. (A
            // standby has no dispatcher: it reads the registry afresh
            // when it takes over, on this same thread.)
            p.registry->replace(fresh);
            if (p.leading) p.dispatcher->replace_registry(fresh);
            log_info("server", "registry reloaded after " + why);
        } catch (const std::exception& e) {
            log_error("server", std::string("registry reload failed: ") + e.what());
        }
    });
}

void Server::add_routes() {
    auto& p = *parts_;
    p.router = std::make_unique<ApiRouter>(
        ApiContext{config_, *p.read_db, *p.auth, p.metrics,
                   [&p] { return p.leading && p.read_db->up() && p.log->database_up(); },
                   [this, &p]() -> std::optional<nlohmann::json> {
                       if (!config_.ha.enabled || p.leading) return std::nullopt;
                       return standby_status();
                   }});
    // Reloads run on the blocking pool (they read files), one at a time.
    api::add_api_routes(
        *p.router, *p.read_db, *p.auth, config_,
        [this] { reload_registry_later("an admin API write"); },
        [&p](std::string why) {
            return asio::co_spawn(
                p.blocking,
                [&p, why = std::move(why)]() -> asio::awaitable<ReloadOutcome> {
                    co_return p.reloader->reload(why);
                },
                asio::use_awaitable);
        });
}

// Tokens revoked and registry rows changed by anyone (sql/011's notices).
void Server::watch_database_changes() {
    auto& p = *parts_;
    p.changes = std::make_shared<db::ChangeListener>(
        io_.get_executor(), p.blocking,
        db::make_conninfo(config_.database.url, config_.database.connect_timeout_s),
        [this, &p](const std::string& channel, const std::string& payload) {
            if (channel == db::kTokenChannel) {
                // Forgets the cached token and closes its sessions (4001).
                p.auth->revoked(payload);
            } else if (channel == db::kRegistryChannel) {
                // The payload is the table (sql/011); anything else is not echoed.
                static const std::set<std::string, std::less<>> kTables{
                    "districts", "schools", "terminals", "units", "guard_posts", "terminal_dc09"};
                reload_registry_later(kTables.contains(payload) ? "a change of " + payload
                                                                : std::string("a registry change"));
            } else {
                // (Re)connected: what changed while nobody listened. Tokens
                // are looked up again; sessions of a token revoked meanwhile
                // are not found out (docs/security.md, 1.5).
                p.auth->forget_all();
                reload_registry_later("(re)connecting to the database's change notices");
            }
        });
    p.changes->start();
}

void Server::open_api_listener() {
    auto& p = *parts_;
    const auto& a = config_.api_listener;
    p.api = std::make_shared<net::ApiListener>(
        io_.get_executor(),
        make_server_tls(a.cert, a.key, std::nullopt,
                        {"api_listener.session_ticket_key", a.session_ticket_key,
                         std::max<long>(1024, a.max_connections)}),
        HttpSessionContext{a, *p.router, *p.auth,
                           [&p](const std::string& path) -> std::unique_ptr<WsChannel> {
                               if (path == "/ws/unit")
                                   return std::make_unique<UnitChannel>(*p.dispatcher);
                               if (path == "/ws/console") {
                                   return std::make_unique<ConsoleChannel>(*p.dispatcher);
                               }
                               return nullptr;
                           },
                           [&p] { return !p.leading; }});
    p.api->open(a.address, a.port);
    p.reloader = std::make_unique<ConfigReloader>(config_file_, config_, *p.api);
    if (p.terminals) p.reloader->attach_terminals(*p.terminals);
    p.api->start();
    std::cout << "huxiaod: api listener on " << a.address << ":" << p.api->local_endpoint().port()
              << std::endl;
}

// Takeover order (contract §8): the lease, then the open incidents, then the
// listeners, all on the blocking thread so that renewals never wait for a
// recovery.
void Server::start_leadership() {
    auto& p = *parts_;
    p.leadership = std::make_unique<Leadership>(
        config_, Leadership::Hooks{[this, &p](std::int64_t epoch) {
                                       asio::post(p.blocking, [this, epoch] { take_over(epoch); });
                                   },
                                   [&p](const std::string& why) {
                                       // Draining after SIGTERM: finish the exit; the
                                       // fence and held() keep the drain from writing or
                                       // acking anything once the lease is gone.
                                       if (p.stopping) {
                                           log_warn("leadership", why + "; exiting as asked");
                                           return;
                                       }
                                       restart_process(why);
                                   }});
    p.leadership->start();
    p.lease_check = std::make_unique<asio::steady_timer>(io_);
    check_lease();
}

void Server::become_leader(std::int64_t epoch) {
    auto& p = *parts_;
    db::RecoveredState recovered;
    std::vector<std::pair<std::string, UnixMicros>> online;
    {
        db::PgSync db(config_.database.url, config_.database.connect_timeout_s);
        if (epoch != 0) p.registry->replace(db::load_registry(db));
        recovered = db::load_open_incidents(db);
        online = db::load_online_terminals(db);
    }
    const auto snapshot = p.registry->get();
    const Registry& registry = snapshot->registry();
    log_info("server", "registry: " + std::to_string(registry.schools.size()) + " schools, " +
                           std::to_string(registry.terminals.size()) + " terminals, " +
                           std::to_string(registry.units.size()) + " units; " +
                           std::to_string(recovered.open_incidents.size()) +
                           " open incidents recovered");
    p.log = std::make_unique<db::IncidentLog>(io_.get_executor(), config_.database);
    if (epoch != 0) p.read_db->fence_writes(epoch);
    if (epoch != 0) {
        p.log->fence(
            epoch, std::chrono::seconds(config_.ha.lease_ttl_s),
            [&p] { return p.leadership->held(); },
            [&p](const std::string& why) {
                if (p.stopping) return;  // draining after SIGTERM: the exit follows
                restart_process("another server has taken the lease over (" + why + ")");
            });
    }
    p.dispatcher = std::make_unique<Dispatcher>(io_.get_executor(), config_, *p.log, *p.registry,
                                                p.metrics, clock_);
    p.dispatcher->restore(recovered.open_incidents, recovered.newest_incident_at);
    p.dispatcher->restore_terminals(online);
    p.log->start();
    p.dispatcher->start();

    const auto& t = config_.terminal_listener;
    p.terminals = std::make_shared<net::TerminalListener>(
        io_.get_executor(),
        make_server_tls(t.cert, t.key, t.client_ca,
                        {"terminal_listener.session_ticket_key", t.session_ticket_key,
                         std::max<long>(1024, t.max_connections)}),
        TerminalSessionContext{config_, *p.dispatcher, *p.registry, clock_});
    p.terminals->open(t.address, t.port);
    p.terminals->start();
    // Tests and scripts read this line to learn the port (port 0 = any free one).
    std::cout << "huxiaod: terminal listener on " << t.address << ":" << terminal_port()
              << std::endl;

    if (config_.dc09_listener.enabled) {
        p.dc09_intake = std::make_unique<Dc09Intake>(config_, *p.dispatcher, *p.registry, *p.log,
                                                     p.metrics, clock_);
        p.dc09 = std::make_shared<net::Dc09Listener>(io_.get_executor(), config_, *p.dc09_intake);
        p.dc09->open();
        p.dc09->start();
        std::cout << "huxiaod: dc09 listener on " << config_.dc09_listener.address << ":"
                  << p.dc09->port() << std::endl;
    }
    if (p.reloader) p.reloader->attach_terminals(*p.terminals);
    p.leading = true;
}

void Server::take_over(std::int64_t epoch) {
    auto& p = *parts_;
    if (p.stopping) return;
    try {
        become_leader(epoch);
        log_info("server", "leading with epoch " + std::to_string(epoch) +
                               ": listeners open, open incidents resumed");
    } catch (const std::exception& e) {
        // Half a leader must not stay: start over as a standby.
        restart_process(std::string("could not take over: ") + e.what());
        std::_Exit(1);
    }
}

// By this process' own clock: a leader whose lease may have run out stops at
// once, whether or not the database can be reached to say so.
void Server::check_lease() {
    auto& p = *parts_;
    if (p.leading && !p.leadership->held()) {
        restart_process("the lease was not renewed in time (" +
                        std::to_string(config_.ha.lease_ttl_s) + " s lease)");
        std::_Exit(1);
    }
    p.lease_check->expires_after(std::chrono::milliseconds(50));
    p.lease_check->async_wait([this](boost::system::error_code ec) {
        if (!ec && !parts_->stopping) check_lease();
    });
}

nlohmann::json Server::standby_status() const {
    nlohmann::json leader = nullptr;
    if (auto holder = parts_->leadership ? parts_->leadership->leader() : std::nullopt) {
        const auto text_or_null = [](const std::string& s) {
            return s.empty() ? nlohmann::json() : nlohmann::json(s);
        };
        leader = {{"node", holder->node},
                  {"terminal", text_or_null(holder->advertise_terminal)},
                  {"api", text_or_null(holder->advertise_api)}};
    }
    return {{"status", "standby"}, {"leader", leader}};
}

void Server::add_metrics() {
    auto& p = *parts_;
    const auto gauge = [&p](const char* name, const char* help, std::function<double()> read) {
        p.metrics.add_gauge(name, help, std::move(read));
    };
    const auto counter = [&p](const char* name, const char* help, std::function<double()> read) {
        p.metrics.add_counter(name, help, std::move(read));
    };
    // A standby has no log, dispatcher or terminal listener: its figures are 0.
    const auto leader = [&p](auto read) {
        return [&p, read] { return p.leading ? static_cast<double>(read()) : 0.0; };
    };
    gauge("huxiao_leader", "1 on the server that holds the lease (or runs alone), 0 on a standby.",
          [&p] { return p.leading ? 1.0 : 0.0; });
    gauge("huxiao_terminals_online", "Terminals the server counts online (supervision).",
          leader([&p] { return p.dispatcher->terminals_online(); }));
    gauge("huxiao_terminal_connections",
          "Connections on the terminal listener, authenticated or not yet.",
          leader([&p] { return p.terminals->connections(); }));
    gauge("huxiao_open_incidents", "Incidents not yet resolved or cancelled.",
          leader([&p] { return p.dispatcher->open_incidents(); }));
    gauge("huxiao_unit_connections", "Patrol units connected on /ws/unit.",
          leader([&p] { return p.dispatcher->units_connected(); }));
    gauge("huxiao_database_up", "1 when the write path reaches PostgreSQL, else 0.",
          leader([&p] { return p.log->database_up() ? 1 : 0; }));
    gauge("huxiao_write_queue_records",
          "Records (alarms, cancels, timeline events) waiting to be written.",
          leader([&p] { return p.log->stats().queued.load(); }));
    gauge("huxiao_write_queue_background_records",
          "Background records (supervision, positions) waiting to be written.",
          leader([&p] { return p.log->stats().queued_background.load(); }));
    // Records given up: refused by the database (kept in dead_letters) or
    // at a full queue. Both are logged with the record; alert on any rise.
    counter("huxiao_write_dead_letters_total",
            "Records PostgreSQL refused as data, kept in the dead_letters table.",
            leader([&p] { return p.log->stats().dead_lettered.load(); }));
    counter("huxiao_write_dropped_records_total",
            "Records dropped at a full write queue (never alarms or cancels).",
            leader([&p] { return p.log->stats().dropped.load(); }));
    counter("huxiao_write_retries_total", "Write batches retried after a transient failure.",
            leader([&p] { return p.log->stats().retries.load(); }));
    // How the write path batches (database.batches_in_flight): a share of
    // pipelined batches near 0 under load says one batch at a time is enough;
    // records held for their key say records of one terminal or unit queue
    // behind each other.
    counter("huxiao_write_batches_total", "Write batches PostgreSQL committed.",
            leader([&p] { return p.log->stats().batches.load(); }));
    counter("huxiao_write_batches_pipelined_total",
            "Write batches sent while another batch of their lane was in flight.",
            leader([&p] { return p.log->stats().batches_pipelined.load(); }));
    counter("huxiao_write_records_held_for_key_total",
            "Records left for a later batch because one of their keys was in flight.",
            leader([&p] { return p.log->stats().held_for_key.load(); }));
    // The standard process_* metrics of Prometheus' client libraries.
    p.metrics.families.emplace_back(render_process_metrics);
    p.metrics.families.emplace_back([&p] {
        std::vector<const ConnectionGate*> gates{&p.api->gate()};
        if (p.leading) {
            gates.push_back(&p.terminals->gate());
            if (p.dc09) gates.push_back(&p.dc09->gate());
        }
        return render_connection_metrics(gates);
    });
}

void Server::await_reload_signal() {
    auto& p = *parts_;
    p.reload_signal->async_wait([this, &p](boost::system::error_code ec, int) {
        if (ec || p.stopping) return;
        asio::post(p.blocking, [&p] { p.reloader->reload("SIGHUP"); });
        await_reload_signal();
    });
}

void Server::keep_watchdog_fed(std::chrono::microseconds interval) {
    auto& p = *parts_;
    // The ping runs on the I/O threads: if they stop turning, the pings stop
    // and systemd restarts the process.
    notify_service_manager("WATCHDOG=1");
    p.watchdog->expires_after(interval);
    p.watchdog->async_wait([this, interval](boost::system::error_code ec) {
        if (!ec && !parts_->stopping) keep_watchdog_fed(interval);
    });
}

unsigned short Server::terminal_port() const {
    return parts_->terminals ? parts_->terminals->local_endpoint().port() : 0;
}

void Server::request_stop() {
    auto& p = *parts_;
    if (p.stopping.exchange(true)) return;
    notify_service_manager("STOPPING=1");
    asio::post(io_, [this, &p] {
        if (p.signals) p.signals->cancel();
        if (p.reload_signal) p.reload_signal->cancel();
        if (p.watchdog) p.watchdog->cancel();
        if (p.lease_check) p.lease_check->cancel();
        const bool leading = p.leading;
        if (leading) {
            p.terminals->stop();
            if (p.dc09) p.dc09->stop();
        }
        p.api->stop();
        p.changes->stop();
        if (!leading) {
            // A standby has nothing to drain.
            if (p.leadership) p.leadership->stop_and_release();
            wait_for_sessions(std::chrono::steady_clock::now());
            return;
        }
        p.dispatcher->stop();
        // In-flight writes get up to 8 s to commit (the contract allows 10 s in
        // all); their acks still reach the terminals, which then get a TLS
        // close_notify. Sessions get up to 1 s for that before the exit.
        p.log->drain(std::chrono::seconds(8), [this, &p] {
            log_info("server", "drained; closing terminal sessions");
            // Drained: a standby may take over at once instead of after the TTL.
            if (p.leadership) p.leadership->stop_and_release();
            p.terminals->close_sessions();
            wait_for_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(1));
        });
    });
}

void Server::wait_for_sessions(std::chrono::steady_clock::time_point until) {
    auto& p = *parts_;
    if (!p.terminals || p.terminals->connections() == 0 ||
        std::chrono::steady_clock::now() >= until) {
        log_info("server", "exiting");
        p.read_db->stop();
        io_.stop();
        return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    timer->async_wait(
        [this, timer, until](boost::system::error_code) { wait_for_sessions(until); });
}

int Server::run() {
    const unsigned n = std::max(2u, std::thread::hardware_concurrency());
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n; ++i) threads.emplace_back([this] { io_.run(); });
    io_.run();
    for (auto& t : threads) t.join();
    return 0;
}

}  // namespace huxiao
