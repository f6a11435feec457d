// IncidentLog: the only writer of incidents and their timelines.
//
// Records queue up from every session and leave as pipelined batches, one
// commit per batch (group commit): while a batch commits, the next one fills,
// so throughput grows with load while each alarm's handler still fires only
// after its own batch is durable. Each incident is pinned to one connection so
// its writes commit in the order they were made.
//
// Up to `database.batches_in_flight` batches are in flight per connection
// (libpq pipeline mode): a lane does not idle between a commit and the next
// batch. In pipeline mode a failed batch does not stop the next one, which may
// commit while the failed one goes back to its queue; so a batch takes only
// records whose keys (the pin; the terminal of an alarm or a cancel; the unit
// of a timeline record) are in no batch in flight on its lane and in no record
// it leaves behind. Records sharing a key therefore have at most one batch in
// flight and leave in queue order, and a failed batch goes back in its queue
// place (by seq), in front of every later record of its keys. A further batch
// goes out while others are in flight only once it is at least as big as the
// last one sent (or batch_max): each batch costs a commit, a WAL flush, so an
// early small batch would only split the next one (docs/performance.md §15).
//
// When the database is slow, gone or refusing writes for a while (read-only
// after a failover, disk full, lock timeouts: see PgCondition), records wait
// and are retried with backoff, never discarded; an alarm whose commit has not
// happened within `alarm_commit_timeout_ms` is answered `unavailable` (never a
// false ack) but stays queued, so it is still recorded once the database is
// back, and the terminal's retry joins it. Retries are safe: alarms are
// idempotent on (terminal, event id), timeline events on their event key. A
// batch whose outcome is unknown (connection lost before its Sync) is retried,
// never acked.
//
// Only a record the database refuses as data (PgCondition::is_refusal), or
// that it would refuse (NUL characters, invalid UTF-8: checked before it is
// queued), is given up: it is logged with its content and kept in the
// `dead_letters` table.
//
// Two classes of records, each with its own cap, so that an outage filled
// with low-priority writes cannot crowd out alarms: `critical` (alarms,
// cancels, timeline events: alarms and cancels are always admitted) goes
// first; `background` (supervision events, positions: StatementRecord) is
// sent only when a lane has no critical work, and is dropped, loudly, when
// its cap is reached.
//
// A unit's timeline events commit in the order they were made, even when they
// belong to incidents on different lanes: a record naming a unit waits until
// everything queued before it on the lane of that unit's previous record has
// committed. An offer that the core made because a unit cleared elsewhere thus
// never becomes durable without that clear (else a takeover would recover the
// unit as still on the old incident while it drives to the new one).
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
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
    std::atomic<std::uint64_t> queued{0};             // every class
    std::atomic<std::uint64_t> queued_background{0};  // of which background
    std::atomic<std::uint64_t> dead_lettered{0};      // refused records kept in dead_letters
    std::atomic<std::uint64_t> dropped{0};            // refused at a full queue (logged)
    std::atomic<std::uint64_t> held_for_unit{0};  // waited for a unit's earlier record elsewhere
    // Batches sent while another was in flight on their lane (pipelined).
    std::atomic<std::uint64_t> batches_pipelined{0};
    // Records left queued by a batch because a key of theirs was in flight.
    std::atomic<std::uint64_t> held_for_key{0};
};

// Why a statement with `params` could not be written as it is, or nothing:
// a NUL character (libpq would cut the text there, PostgreSQL refuses it),
// invalid UTF-8, or, in the parameter `jsonb_param` (0-based) that is cast to
// jsonb, a NUL spelled as a JSON escape (jsonb refuses it: 22P05).
std::optional<std::string> unwritable_reason(const std::vector<std::optional<std::string>>& params,
                                             std::optional<std::size_t> jsonb_param = {});
// The same answer for an alarm's parameters in its record_alarms statement
// ($1 terminal, $2 event id, $3 incident, $4 joined incident, $5 kind, $8
// note), without building them: it runs for every alarm.
std::optional<std::string> unwritable_reason(const AlarmRecord& alarm);

class IncidentLog {
  public:
    IncidentLog(boost::asio::any_io_executor executor, const DatabaseConfig& config);
    ~IncidentLog();

    // Contract §8, before start(): every batch first checks in the database
    // that `epoch` still holds the lease (huxiao_fence, sql/012). Once it does
    // not, nothing more is written or answered and `fenced` is called, once.
    // `may_confirm` is asked before committed records are answered: a leader
    // whose lease ran out by its own clock answers them `unavailable` (they
    // are recorded; the terminal's retry to the new leader joins them).
    // `lease_ttl` also bounds how long a batch may sit half sent in an open
    // transaction (holding the fence's lock, which a takeover waits for).
    void fence(std::int64_t epoch, std::chrono::milliseconds lease_ttl,
               std::function<bool()> may_confirm,
               std::function<void(const std::string& why)> fenced);

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

    // The lane (connection) that records pinned to `pin` go through.
    static std::size_t lane_of(const std::string& pin, std::size_t lanes);

    static std::vector<PreparedStatement> statements();
    // Session settings of the log's connections (timeouts: see the .cpp).
    static PgSessionOptions session_options();

  private:
    struct Pending {
        RecordHandler handler;
        std::chrono::steady_clock::time_point deadline;
        bool answered = false;
    };
    // A critical record's place on its lane: lanes commit their records in order.
    struct LaneMark {
        std::size_t lane = 0;
        std::uint64_t seq = 0;
    };
    struct Item {
        std::variant<AlarmRecord, CancelRecord, TimelineRecord, StatementRecord> record;
        std::shared_ptr<Pending> pending;  // null for timeline records
        bool solo = false;                 // retry alone: its batch failed on an SQL error
        bool dead_letter = false;          // the dead_letters insert itself: never re-dead-lettered
        bool background = false;           // low priority (supervision, positions)
        std::uint64_t seq = 0;             // its place in its lane's queue (per class)
        std::optional<LaneMark> after{};   // sent only once that lane has committed this far
        // What orders it (hashes): its pin and, for an alarm or a cancel its
        // terminal, for a timeline record its unit. Two records sharing a key
        // are never in different batches in flight at once.
        std::array<std::size_t, 2> keys{};
        std::uint8_t key_count = 0;
    };
    // A batch in flight on a lane.
    struct Flight {
        std::uint64_t id = 0;
        bool background = false;
        std::uint64_t first_seq = 0;  // its lowest seq (items leave in seq order)
        std::size_t records = 0;
        std::vector<std::size_t> keys;  // sorted
    };
    struct Lane {
        std::deque<Item> critical;  // each in seq order
        std::deque<Item> background;
        std::vector<Flight> flights;  // in the order sent
        std::uint64_t next_flight = 0;
        std::uint64_t background_seq = 0;
        // After a transient failure the lane waits before it tries again.
        std::chrono::milliseconds backoff{0};
        std::unique_ptr<boost::asio::steady_timer> retry;
        bool backing_off = false;
        std::string last_failure;      // logged once per streak, not once per retry
        std::uint64_t queued_seq = 0;  // critical records queued so far
        bool held = false;             // a record it would send waits for another lane
    };

    // Where a batch's item finds its answer: the query's result, and the row
    // in it (a run of alarms shares one query, one row each).
    struct ResultSlot {
        std::size_t query = 0;
        int row = 0;
    };

    void enqueue(const std::string& pin, Item item);
    void push_critical(std::size_t lane, Item item);
    // Every critical record of the lane up to this seq has committed (or
    // been given up): a contiguous prefix, whatever order batches finish in.
    std::uint64_t committed_seq(const Lane& lane) const;
    bool may_send(const Item& item) const;
    // A lane's committed prefix may have grown: lanes held for it go on.
    void lane_progressed();
    void pump(std::size_t lane);
    // Sends one batch from the lane's queue; false when nothing could go.
    bool send_batch(std::size_t lane);
    // Puts a batch's items back into their queue, each in its seq place.
    static void requeue(std::deque<Item>& queue, std::vector<Item>& items);
    void on_batch_done(std::size_t lane, std::uint64_t flight, std::vector<Item> items,
                       const std::vector<ResultSlot>& slots, PgBatchOutcome outcome);
    void back_off(std::size_t lane, const PgFailure& failure);
    // Gives up on a record the database cannot take: logs it with its
    // content, answers its handler `rejected` and keeps it in dead_letters.
    void refuse(Item& item, const std::string& sqlstate, const std::string& message);
    void answer(Pending& pending, RecordResult result);
    void sweep();
    void check_drained(bool force = false);
    PgQuery to_query(const Item& item) const;

    boost::asio::any_io_executor strand_;
    DatabaseConfig config_;
    PgPool pool_;
    std::vector<Lane> lanes_;
    // Each unit's lane of its last record, for the order of a unit's records.
    std::unordered_map<std::string, std::size_t> unit_lanes_;
    std::deque<std::shared_ptr<Pending>> deadlines_;  // in deadline order (fixed timeout)
    boost::asio::steady_timer sweep_timer_;
    std::atomic<int> up_slots_{0};
    std::optional<std::chrono::steady_clock::time_point> down_since_;
    bool draining_ = false;
    std::function<void()> drained_;
    std::unique_ptr<boost::asio::steady_timer> drain_timer_;
    IncidentLogStats stats_;
    std::int64_t fence_epoch_ = 0;  // 0: a single server, no lease
    std::function<bool()> may_confirm_;
    std::function<void(const std::string&)> on_fenced_;
    bool fenced_ = false;
    // Dead letters' keys (sql/016): this process's random prefix, a counter.
    std::string letter_prefix_;
    std::uint64_t letters_ = 0;
};

}  // namespace huxiao::db
