// Wiring of the running server: one io_context run by one thread per core,
// the IncidentLog, the Dispatcher, the listeners, and the order in which they
// start (database, migrations, registry, recovery, then listeners) and stop
// (stop accepting, let in-flight writes commit, close, exit).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "common/config/config.hpp"

namespace huxiao {

class Clock;

class Server {
  public:
    // `config_file`: where `config` was read from, read again on SIGHUP and
    // POST /api/v1/admin/reload (server/wiring/config_reloader.hpp).
    explicit Server(Config config, std::filesystem::path config_file = {});
    ~Server();

    // Everything up to open listeners. Throws std::runtime_error with a
    // one-line reason on a start-up failure.
    void start();
    // Runs until SIGTERM/SIGINT (or request_stop), then drains. Returns the exit code.
    int run();
    void request_stop();

    unsigned short terminal_port() const;

  private:
    // The phases of start(), in their order.
    void open_database();
    void add_routes();
    void watch_database_changes();
    void open_api_listener();
    void start_leadership();
    void reload_registry_later(std::string why);  // on the blocking pool
    // The leader's parts: recovery, the log (fenced by `epoch` unless 0: a
    // single server), the dispatcher, the terminal and DC-09 listeners.
    void become_leader(std::int64_t epoch);
    void take_over(std::int64_t epoch);  // a standby that took the lease
    void check_lease();
    nlohmann::json standby_status() const;
    void add_metrics();
    void keep_watchdog_fed(std::chrono::microseconds interval);
    void await_reload_signal();
    void wait_for_sessions(std::chrono::steady_clock::time_point until);

    struct Parts;
    Config config_;
    std::filesystem::path config_file_;
    const Clock& clock_;  // the system clock; every part below reads the time from it
    boost::asio::io_context io_;
    std::unique_ptr<Parts> parts_;
};

}  // namespace huxiao
