// Queries for the API (reads, admin writes) on a small pool of their own, so
// a slow report never queues behind alarm writes or the other way round.
// Awaitable from any coroutine; the result comes back on the caller's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <memory>

#include "common/config/config.hpp"
#include "server/db/pg_pool.hpp"

namespace huxiao::db {

class ReadDb {
  public:
    ReadDb(boost::asio::any_io_executor executor, const DatabaseConfig& config,
           std::size_t connections);
    void start();
    void stop();
    bool up() const { return up_->load() > 0; }

    // Runs one statement (SQL text, text parameters) in its own transaction.
    // Arguments are copied before the first suspension, so temporaries are fine.
    boost::asio::awaitable<PgBatchOutcome> query(
        const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    // Runs several statements in one transaction (all or nothing).
    // Every wait has a deadline: a connection must be free within 5 s and a
    // batch answered within its session's batch_timeout, else the outcome
    // fails with PgErrc::timed_out.
    boost::asio::awaitable<PgBatchOutcome> transaction(std::vector<PgQuery> queries);
    // Lists and reports (contract §8): like query() and transaction(), on
    // database.read_url when it is set (typically a standby, which may lag a
    // moment behind), else on the same connections.
    boost::asio::awaitable<PgBatchOutcome> read(
        const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
    boost::asio::awaitable<PgBatchOutcome> read_transaction(const std::vector<PgQuery>& queries);

    // The leader of several servers (contract §8) from its takeover on:
    // every query() and transaction() then starts with huxiao_fence(epoch)
    // in the same transaction, so that a leader paused past its lease cannot
    // apply an admin write, a note or a hazard after another server took
    // over (the batch fails with SQLSTATE HX001 and the request gets 503).
    // read() and read_transaction() are not fenced: they write nothing.
    void fence_writes(std::int64_t epoch) { fence_epoch_->store(epoch); }

    static PgSessionOptions session_options();

  private:
    boost::asio::any_io_executor strand_;
    PgPool pool_;
    std::unique_ptr<PgPool> replica_;  // on database.read_url, when set
    std::shared_ptr<std::atomic<int>> up_ = std::make_shared<std::atomic<int>>(0);
    // 0: not fenced (a single server, or not leading yet).
    std::shared_ptr<std::atomic<std::int64_t>> fence_epoch_ =
        std::make_shared<std::atomic<std::int64_t>>(0);
};

}  // namespace huxiao::db
