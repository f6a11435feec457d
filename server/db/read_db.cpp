#include "server/db/read_db.hpp"

#include <boost/asio/strand.hpp>

namespace huxiao::db {

namespace asio = boost::asio;

ReadDb::ReadDb(asio::any_io_executor executor, const DatabaseConfig& config,
               std::size_t connections)
    : strand_(asio::make_strand(executor)),
      pool_(strand_, make_conninfo(config.url, config.connect_timeout_s), connections, {},
            session_options()) {
    if (!config.read_url.empty()) {
        // Any server of the list will do unless the URL says otherwise
        // (e.g. target_session_attrs=prefer-standby).
        replica_ = std::make_unique<PgPool>(
            strand_, make_conninfo(config.read_url, config.connect_timeout_s, "any"), connections,
            std::vector<PreparedStatement>{}, session_options());
    }
}

PgSessionOptions ReadDb::session_options() {
    return {
        // Defaults for the API's sessions; a report raises its own
        // statement_timeout for its transaction (set_config(..., true)).
        {"SET lock_timeout = '10s'", "SET statement_timeout = '60s'",
         "SET idle_in_transaction_session_timeout = '60s'"},
        // The longest any API statement may run (reports: 120 s) plus slack;
        // past it the connection is presumed dead and the request gets
        // PgErrc::timed_out.
        std::chrono::seconds(150),
    };
}

void ReadDb::start() {
    asio::post(strand_, [this] {
        pool_.start([up = up_](std::size_t, bool is_up) { *up += is_up ? 1 : -1; });
        if (replica_) replica_->start();
    });
}

void ReadDb::stop() {
    asio::post(strand_, [this] {
        pool_.stop();
        if (replica_) replica_->stop();
    });
}

namespace {
// How long a request waits for a connection while the pool (re)connects
// before it fails with PgErrc::timed_out.
constexpr std::chrono::seconds kAcquireTimeout{5};

// The initiation of a batch on the pool's strand; the handler runs on the
// awaiting coroutine's executor. A named type rather than a lambda: GCC 12
// destroys lambda captures twice when the lambda appears inside co_await.
struct SubmitBatch {
    asio::any_io_executor strand;
    PgPool* pool;
    bool fenced = false;  // the first statement is ReadDb's fence: not the caller's

    template <class Handler>
    void operator()(Handler handler, std::vector<PgQuery> queries) const {
        auto shared = std::make_shared<Handler>(std::move(handler));
        asio::post(strand,
                   [pool = pool, fenced = fenced, queries = std::move(queries), shared]() mutable {
                       pool->submit_any(
                           std::move(queries),
                           [shared, fenced](PgBatchOutcome outcome) mutable {
                               if (fenced && !outcome.failure && !outcome.results.empty()) {
                                   outcome.results.erase(outcome.results.begin());
                               }
                               auto ex = asio::get_associated_executor(*shared);
                               asio::post(ex, [shared, outcome = std::move(outcome)]() mutable {
                                   (*shared)(std::move(outcome));
                               });
                           },
                           kAcquireTimeout);
                   });
    }
};
}  // namespace

// Not a coroutine (nor are the others here): the batch is built and handed
// to async_initiate at once, and the awaitable it returns is all the caller awaits.
asio::awaitable<PgBatchOutcome> ReadDb::transaction(std::vector<PgQuery> queries) {
    const std::int64_t epoch = fence_epoch_->load();
    if (epoch != 0) {
        queries.insert(queries.begin(),
                       PgQuery{"SELECT huxiao_fence($1)", {std::to_string(epoch)}, false});
    }
    for (auto& q : queries) q.prepared = false;
    return asio::async_initiate<decltype(asio::use_awaitable), void(PgBatchOutcome)>(
        SubmitBatch{strand_, &pool_, epoch != 0}, asio::use_awaitable, std::move(queries));
}

asio::awaitable<PgBatchOutcome> ReadDb::read_transaction(const std::vector<PgQuery>& queries) {
    std::vector<PgQuery> copy = queries;
    for (auto& q : copy) q.prepared = false;
    return asio::async_initiate<decltype(asio::use_awaitable), void(PgBatchOutcome)>(
        SubmitBatch{strand_, replica_ ? replica_.get() : &pool_}, asio::use_awaitable,
        std::move(copy));
}

asio::awaitable<PgBatchOutcome> ReadDb::read(
    const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    return read_transaction({PgQuery{sql, params, false}});
}

asio::awaitable<PgBatchOutcome> ReadDb::query(
    const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    return transaction({PgQuery{sql, params, false}});
}

}  // namespace huxiao::db
