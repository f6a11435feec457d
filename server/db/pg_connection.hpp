// One PostgreSQL connection driven by Asio: libpq in non-blocking pipeline
// mode, its socket watched for readiness, never a thread blocked on a query.
//
// Work is submitted as batches: the queries of a batch are sent back to back,
// followed by one Sync, so they run in one implicit transaction that commits
// when the Sync is processed. A batch's handler therefore learns of success
// only after the commit is durable — the basis of group commit. Batches may be
// pipelined; results are matched to batches in FIFO order (PipelineTracker),
// and any mismatch drops the connection rather than guess.
//
// A batch whose connection breaks before its Sync result arrives has an
// unknown outcome (it may have committed): it is failed with connection_lost,
// never reported as done, and its owner retries it (every write is idempotent).
// A connection that stops answering (a stopped server still answers TCP
// keepalives) is dropped once a batch has waited `batch_timeout`.
//
// Not thread-safe: every member function runs on the executor passed in
// (a strand), and handlers are invoked there.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/db/pg_error.hpp"
#include "server/db/pipeline_tracker.hpp"

namespace huxiao::db {

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

struct PgQuery {
    std::string statement;  // prepared statement name, or SQL text if !prepared
    std::vector<std::optional<std::string>> params;
    bool prepared = true;
};

struct PreparedStatement {
    std::string name;
    std::string sql;
};

// How the connections of one pool behave beyond the conninfo.
struct PgSessionOptions {
    // Run once after connecting, before the statements are prepared (e.g.
    // "SET lock_timeout = '5s'"): session settings the operator's URL need not know.
    std::vector<std::string> setup;
    // A batch with no result for this long drops the connection (timed_out).
    // Zero: no deadline.
    std::chrono::milliseconds batch_timeout{0};
};

struct PgBatchOutcome {
    std::optional<PgFailure> failure;  // set when the batch did not commit (or may not have)
    std::vector<PgResult> results;     // one per query, when it committed
};

class PgConnection : public std::enable_shared_from_this<PgConnection> {
  public:
    using ConnectHandler = std::function<void(std::optional<PgFailure>)>;
    using BatchHandler = std::function<void(PgBatchOutcome)>;
    using LostHandler = std::function<void(const PgFailure&)>;

    PgConnection(boost::asio::any_io_executor strand, boost::asio::thread_pool& blocking,
                 std::string conninfo, std::vector<PreparedStatement> statements,
                 PgSessionOptions options = {});
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Connects (on the blocking pool: name lookup, every host of a
    // multi-host URL and authentication may block, so never on an I/O
    // thread), runs the session setup, prepares the statements, then enters
    // pipeline mode.
    void async_connect(ConnectHandler handler);

    // Called once if the connection breaks after it was established; every
    // batch in flight has been failed with connection_lost before.
    void on_lost(LostHandler handler) { on_lost_ = std::move(handler); }

    void submit(std::vector<PgQuery> queries, BatchHandler handler);

    bool ready() const { return conn_ != nullptr && !broken_; }
    std::size_t in_flight() const { return batches_.size(); }

    // Fails what is in flight (with `reason`) and closes the connection.
    void close(PgErrc reason = PgErrc::shutting_down);

  private:
    struct Batch {
        std::vector<PgResult> results;
        std::optional<PgFailure> failure;
        BatchHandler handler;
        std::chrono::steady_clock::time_point sent_at;
    };

    void wait_readable();
    void on_readable();
    void flush();
    void fail(PgErrc reason, std::string message);
    void drain_results();
    void arm_deadline();

    boost::asio::any_io_executor strand_;
    boost::asio::thread_pool& blocking_;
    std::string conninfo_;
    std::vector<PreparedStatement> statements_;
    PgSessionOptions options_;
    PGconn* conn_ = nullptr;
    std::optional<boost::asio::posix::stream_descriptor> socket_;  // a dup of libpq's socket
    std::deque<Batch> batches_;  // in the order sent, parallel to tracker_
    PipelineTracker tracker_;
    std::optional<boost::asio::steady_timer> deadline_;
    bool reading_ = false;
    bool writing_ = false;
    bool broken_ = false;
    LostHandler on_lost_;
};

// Runs `sql` once with text parameters; for start-up work and command-line
// tools, where blocking is fine. Throws std::runtime_error with libpq's message.
struct PgSync {
    explicit PgSync(const std::string& conninfo, int connect_timeout_s = 5);
    ~PgSync();
    PgSync(const PgSync&) = delete;
    PgSync& operator=(const PgSync&) = delete;

    PgResult exec(const std::string& sql,
                  const std::vector<std::optional<std::string>>& params = {});
    PGconn* raw() { return conn_; }

  private:
    PGconn* conn_ = nullptr;
};

// Adds libpq options we always want to a URL or key=value conninfo, without
// overriding what the operator wrote: a connect timeout (per host), TCP
// keepalives and tcp_user_timeout (a dead peer or path is noticed in about
// ten seconds, not after the kernel's retransmission timeout of minutes),
// target_session_attrs=read-write (with several hosts, the primary is found;
// a standby is never written to), application_name.
// `session_attrs`: the target_session_attrs used when the URL names none.
std::string make_conninfo(const std::string& url, int connect_timeout_s,
                          const char* session_attrs = "read-write");

// Text of a result cell, "" for NULL.
inline std::string cell(const PGresult* r, int row, int col) {
    return PQgetisnull(r, row, col) ? std::string() : std::string(PQgetvalue(r, row, col));
}

}  // namespace huxiao::db
