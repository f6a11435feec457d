// A fixed set of PgConnections that reconnect by themselves (with backoff)
// after a failure. Callers either pick a connection themselves (IncidentLog
// pins each incident to one so its writes stay in order) or let the pool pick
// the least busy one. Runs on one strand; so do the handlers.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/db/pg_connection.hpp"

namespace huxiao::db {

class PgPool {
  public:
    using StateHandler = std::function<void(std::size_t slot, bool up)>;

    PgPool(boost::asio::any_io_executor strand, std::string conninfo, std::size_t size,
           std::vector<PreparedStatement> statements, PgSessionOptions options = {});
    ~PgPool();

    // Before start(): one more setting for every connection (after the others).
    void add_setup(std::string statement) { options_.setup.push_back(std::move(statement)); }

    // Starts connecting every slot. `on_state` hears each slot go up or down.
    void start(StateHandler on_state = {});
    void stop();

    std::size_t size() const { return slots_.size(); }
    bool ready(std::size_t slot) const;
    std::size_t ready_count() const;
    std::size_t in_flight(std::size_t slot) const;

    void submit(std::size_t slot, std::vector<PgQuery> queries, PgConnection::BatchHandler handler);
    // The ready connection with the fewest batches in flight. With none ready
    // the batch waits (at most `wait`) for one to come up, so a request made
    // while the pool is still connecting or reconnecting is not failed at once;
    // when the wait is over it fails with PgErrc::timed_out.
    void submit_any(std::vector<PgQuery> queries, PgConnection::BatchHandler handler,
                    std::chrono::milliseconds wait = std::chrono::milliseconds(0));

    // When the last connection attempt failed, and why (for logs and /readyz).
    const std::string& last_error() const { return last_error_; }

  private:
    struct Slot {
        std::shared_ptr<PgConnection> connection;
        std::unique_ptr<boost::asio::steady_timer> retry;
        std::chrono::milliseconds backoff{100};
    };
    void connect(std::size_t slot);
    void schedule_reconnect(std::size_t slot);
    void flush_waiting();

    struct Waiting {
        std::vector<PgQuery> queries;
        PgConnection::BatchHandler handler;
        std::chrono::steady_clock::time_point deadline;
    };
    std::deque<Waiting> waiting_;
    std::unique_ptr<boost::asio::steady_timer> waiting_timer_;

    boost::asio::any_io_executor strand_;
    std::string conninfo_;
    std::vector<PreparedStatement> statements_;
    PgSessionOptions options_;
    boost::asio::thread_pool blocking_{1};
    std::vector<Slot> slots_;
    StateHandler on_state_;
    std::string last_error_;
    bool stopped_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace huxiao::db
