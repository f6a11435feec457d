#include "server/app/server.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <iostream>
#include <thread>

#include "server/app/dispatcher.hpp"
#include "server/app/log.hpp"
#include "server/app/registry_holder.hpp"
#include "server/db/incident_log.hpp"
#include "server/db/migrations.hpp"
#include "server/db/pg_connection.hpp"
#include "server/db/recovery.hpp"
#include "server/db/registry_store.hpp"
#include "server/net/terminal_listener.hpp"
#include "server/net/tls.hpp"

namespace huxiao {

namespace asio = boost::asio;

struct Server::Parts {
    std::unique_ptr<RegistryHolder> registry;
    std::unique_ptr<db::IncidentLog> log;
    std::unique_ptr<Dispatcher> dispatcher;
    std::shared_ptr<net::TerminalListener> terminals;
    std::unique_ptr<asio::signal_set> signals;
    std::atomic<bool> stopping{false};
};

Server::Server(Config config) : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

Server::~Server() = default;

void Server::start() {
    auto& p = *parts_;
    Registry registry;
    {
        db::PgSync db(config_.database.url, config_.database.connect_timeout_s);
        for (const auto& name : db::apply_migrations(db)) log_info("migrate", "applied " + name);
        registry = db::load_registry(db);
        auto recovered = db::load_open_incidents(db);
        log_info("server", "registry: " + std::to_string(registry.schools.size()) + " schools, " +
                               std::to_string(registry.terminals.size()) + " terminals, " +
                               std::to_string(registry.units.size()) + " units; " +
                               std::to_string(recovered.open_incidents.size()) +
                               " open incidents recovered");
        p.registry = std::make_unique<RegistryHolder>(std::move(registry));
        p.log = std::make_unique<db::IncidentLog>(io_.get_executor(), config_.database);
        p.dispatcher = std::make_unique<Dispatcher>(io_.get_executor(), config_, *p.log, *p.registry);
        p.dispatcher->restore(recovered.open_incidents, recovered.newest_incident_at);
    }
    p.log->start();

    const auto& t = config_.terminal_listener;
    p.terminals = std::make_shared<net::TerminalListener>(
        io_.get_executor(), net::make_server_tls(t.cert, t.key, t.client_ca),
        TerminalSessionContext{config_, *p.dispatcher, *p.registry});
    p.terminals->open(t.address, t.port);
    p.terminals->start();
    // Tests and scripts read this line to learn the port (port 0 = any free one).
    std::cout << "huxiaod: terminal listener on " << t.address << ":" << terminal_port() << std::endl;

    p.signals = std::make_unique<asio::signal_set>(io_, SIGINT, SIGTERM);
    p.signals->async_wait([this](boost::system::error_code ec, int signal) {
        if (!ec) {
            log_info("server", std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
                                   "; draining");
            request_stop();
        }
    });
}

unsigned short Server::terminal_port() const { return parts_->terminals->local_endpoint().port(); }

void Server::request_stop() {
    auto& p = *parts_;
    if (p.stopping.exchange(true)) return;
    asio::post(io_, [this, &p] {
        if (p.signals) p.signals->cancel();
        p.terminals->stop();
        // In-flight writes get up to 8 s to commit (the contract allows 10 s in all).
        p.log->drain(std::chrono::seconds(8), [this] {
            log_info("server", "drained; exiting");
            io_.stop();
        });
    });
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
