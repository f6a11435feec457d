// IncidentLog: the only writer of incidents and their timelines.
//
// Records queue up from every session and leave as pipelined batches, one
// commit per batch (group commit): while a batch commits, the next one fills,
// so throughput grows with load while each alarm's handler still fires only
// after its own batch is durable. Each incident is pinned to one connection so
// its writes commit in the order they were made.
//
// When the database is slow or gone, records wait (bounded) and are retried
// after reconnecting; an alarm whose commit has not happened within
// `alarm_commit_timeout_ms` is answered `unavailable` (never a false ack) but
// stays queued, so it is still recorded once the database is back. Retries are
// safe: alarms are idempotent on (terminal, event id), timeline events on
// their event key.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/config/config.hpp"
#include "common/util/time.hpp"
#include "server/db/pg_pool.hpp"

namespace huxiao::db {

struct AlarmRecord {
    std::string terminal;
    std::string event_id;
    std::string incident;             // the id triage proposed for a new incident
    std::optional<std::string> join;  // the open incident a repeat alarm joins
    std::string kind;
    std::optional<UnixMicros> terminal_at;
    bool drill = false;
    std::string note;
    UnixMicros received_at = 0;
};

struct CancelRecord {
    std::string terminal;
    std::string event_id;
    std::string alarm_id;
    std::string reason;
    std::optional<std::string> incident_hint;  // keeps the cancel behind its alarm's writes
    UnixMicros received_at = 0;
};

struct TimelineRecord {
    std::string incident;
    UnixMicros at = 0;
    std::string type;
    std::string actor;
    std::optional<std::string> unit;
    std::string details_json = "{}";
    std::string event_key;  // unique: a retried append is a no-op
};

// Any other write that must not be lost but needs no answer (supervision
// events, sampled positions): a prepared statement of IncidentLog::statements()
// and its parameters. It must be idempotent, since it may be retried.
struct StatementRecord {
    std::string statement;
    std::vector<std::optional<std::string>> params;
};

struct RecordResult {
    enum class Status { committed, unavailable, rejected };
    Status status = Status::unavailable;
    std::string incident;  // committed: the incident recorded
    std::string outcome;   // committed: new | repeat | duplicate | unknown_alarm
    std::string message;   // otherwise: why
};
using RecordHandler = std::function<void(RecordResult)>;

struct IncidentLogStats {
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> records{0};
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> unavailable{0};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> queued{0};
};

class IncidentLog {
  public:
    IncidentLog(boost::asio::any_io_executor executor, const DatabaseConfig& config);
    ~IncidentLog();

    void start();
    // Stops taking records, waits (at most `timeout`) for the queue to commit,
    // then closes the connections and calls `done`.
    void drain(std::chrono::milliseconds timeout, std::function<void()> done);

    // Thread-safe; `handler` runs exactly once, on the log's strand.
    void record_alarm(AlarmRecord record, RecordHandler handler);
    void record_cancel(CancelRecord record, RecordHandler handler);
    void append(TimelineRecord record);
    // `pin` keeps records with the same pin in order (e.g. the terminal id).
    void execute(const std::string& pin, StatementRecord record);

    bool database_up() const { return up_slots_.load() > 0; }
    const IncidentLogStats& stats() const { return stats_; }

    static std::vector<PreparedStatement> statements();

  private:
    struct Pending {
        RecordHandler handler;
        std::chrono::steady_clock::time_point deadline;
        bool answered = false;
    };
    struct Item {
        std::variant<AlarmRecord, CancelRecord, TimelineRecord, StatementRecord> record;
        std::shared_ptr<Pending> pending;  // null for timeline records
        bool solo = false;                 // retry alone: its batch failed on an SQL error
    };
    struct Lane {
        std::deque<Item> queue;
        bool busy = false;
    };

    void enqueue(const std::string& pin, Item item);
    void pump(std::size_t lane);
    void on_batch_done(std::size_t lane, std::vector<Item> items, PgBatchOutcome outcome);
    void answer(Pending& pending, RecordResult result);
    void sweep();
    void check_drained(bool force = false);
    PgQuery to_query(const Item& item) const;

    boost::asio::any_io_executor strand_;
    DatabaseConfig config_;
    PgPool pool_;
    std::vector<Lane> lanes_;
    std::deque<std::shared_ptr<Pending>> deadlines_;  // in deadline order (fixed timeout)
    boost::asio::steady_timer sweep_timer_;
    std::atomic<int> up_slots_{0};
    std::optional<std::chrono::steady_clock::time_point> down_since_;
    bool draining_ = false;
    std::function<void()> drained_;
    std::unique_ptr<boost::asio::steady_timer> drain_timer_;
    IncidentLogStats stats_;
};

}  // namespace huxiao::db
