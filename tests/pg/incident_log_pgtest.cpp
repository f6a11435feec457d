// IncidentLog against the real PostgreSQL: group commit, a refused record kept
// in dead_letters while the rest of its batch commits, text PostgreSQL would
// refuse never sent, and transient failures (a lock timeout, the backend
// terminated mid-batch) retried until the records commit, exactly once; a
// unit's records commit in order though their incidents use different lanes;
// with two batches in flight per lane, nothing overtakes a failed batch's
// records of its incident or unit, and a fenced batch stops the next.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "server/db/incident_log.hpp"
#include "server/db/migrations.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;
using db::RecordResult;

class IncidentLogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db::PgSync c(db_.url());
        db::apply_migrations(c);
        c.exec("INSERT INTO districts (id, name) VALUES ('D-1', 'One')");
        c.exec(
            "INSERT INTO schools (id, name, district_id, lat, lon) "
            "VALUES ('S-1', 'School', 'D-1', 30, 120)");
        c.exec("INSERT INTO terminals (id, school_id) VALUES ('T-1', 'S-1')");
    }
    void TearDown() override { stop(); }

    void make_log(int pool_size, int commit_timeout_ms = 5000) {
        DatabaseConfig config;
        config.url = db_.url();
        config.pool_size = pool_size;
        config.alarm_commit_timeout_ms = commit_timeout_ms;
        log_ = std::make_unique<db::IncidentLog>(io_.get_executor(), config);
        log_->start();
    }
    void run() {
        thread_ = std::thread([this] { io_.run(); });
    }
    void stop() {
        if (log_ && thread_.joinable()) {
            std::atomic<bool> drained{false};
            log_->drain(std::chrono::seconds(5), [&] { drained = true; });
            wait_for([&] { return drained.load(); });
        }
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
        log_.reset();
    }
    static void wait_for(const std::function<bool()>& done) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        while (!done()) {
            ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "condition never held";
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    db::AlarmRecord alarm(const std::string& event, const std::string& incident) {
        db::AlarmRecord a;
        a.terminal = "T-1";
        a.event_id = event;
        a.incident = incident;
        a.kind = "fire";
        a.received_at = 1'788'247'800'000'000;
        return a;
    }
    db::TimelineRecord event(const std::string& incident, const std::string& key,
                             std::string details = "{}") {
        return {incident,     1'788'247'801'000'000, "offer_sent", "system",
                std::nullopt, std::move(details),    key};
    }
    // Records an alarm; its answers are collected in results_.
    void record(db::AlarmRecord a) {
        log_->record_alarm(std::move(a), [this](RecordResult r) {
            std::lock_guard lock(mutex_);
            results_.push_back(std::move(r));
        });
    }
    std::size_t answered() {
        std::lock_guard lock(mutex_);
        return results_.size();
    }

    TestDatabase db_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
        asio::make_work_guard(io_)};
    std::unique_ptr<db::IncidentLog> log_;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<RecordResult> results_;
};

TEST_F(IncidentLogTest, RecordsQueuedTogetherCommitInOneBatchPerConnection) {
    make_log(2);
    for (int i = 0; i < 50; ++i) record(alarm("A-" + std::to_string(i), "I-" + std::to_string(i)));
    run();  // nothing was sent before this: every record waits for a connection
    wait_for([&] { return answered() == 50; });
    for (const auto& r : results_) {
        EXPECT_EQ(r.status, RecordResult::Status::committed) << r.message;
        EXPECT_EQ(r.outcome, "new");
    }
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events"), "50");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "50");
    EXPECT_LE(log_->stats().batches.load(), 2u) << "group commit: one batch per connection";
    EXPECT_EQ(log_->stats().records.load(), 50u);
}

TEST_F(IncidentLogTest, ARefusedRecordIsKeptInDeadLettersAndTheRestOfItsBatchCommits) {
    make_log(1);  // one lane: every record below shares a batch
    record(alarm("A-1", "I-1"));
    log_->append(event("I-1", "k1"));
    log_->append(event("NO-SUCH-INCIDENT", "k2"));  // 23503: refused for good
    log_->append(event("I-1", "k3"));
    run();
    wait_for([&] { return log_->stats().queued.load() == 0 && answered() == 1; });
    EXPECT_EQ(results_.at(0).status, RecordResult::Status::committed);
    EXPECT_EQ(db_.scalar("SELECT string_agg(event_key, ',' ORDER BY seq) FROM incident_events "
                         "WHERE event_key IS NOT NULL"),
              "k1,k3");
    EXPECT_EQ(db_.scalar("SELECT statement || ' ' || sqlstate FROM dead_letters"),
              "append_event 23503");
    EXPECT_NE(db_.scalar("SELECT params FROM dead_letters").find("NO-SUCH-INCIDENT"),
              std::string::npos);
    EXPECT_EQ(log_->stats().rejected.load(), 1u);
    EXPECT_EQ(log_->stats().dead_lettered.load(), 1u);
}

// A batch whose outcome is unknown is sent again as it was (same records,
// same parameters). The dead letter's insert, sent again with the key it
// was given, keeps one row; two refusals are two letters.
TEST_F(IncidentLogTest, ADeadLetterSentAgainIsKeptOnce) {
    make_log(1);
    record(alarm("A-1", "I-1"));
    log_->append(event("NO-SUCH-INCIDENT", "k1"));
    log_->append(event("NO-SUCH-INCIDENT", "k2"));
    run();
    wait_for([&] {
        return log_->stats().queued.load() == 0 &&
               db_.scalar("SELECT count(*) FROM dead_letters") == "2";
    });
    EXPECT_EQ(db_.scalar("SELECT count(DISTINCT letter_key) FROM dead_letters"), "2");
    const auto statements = db::IncidentLog::statements();
    const auto letter = std::find_if(statements.begin(), statements.end(),
                                     [](const auto& s) { return s.name == "dead_letter"; });
    ASSERT_NE(letter, statements.end());
    const auto row = db_.column(
        "SELECT unnest(ARRAY[statement, params, sqlstate, message, letter_key]) FROM "
        "(SELECT * FROM dead_letters ORDER BY id LIMIT 1) d");
    ASSERT_EQ(row.size(), 5u);
    db_.column(letter->sql, {row[0], row[1], row[2], row[3], row[4]});  // the retry
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM dead_letters"), "2");
}

TEST_F(IncidentLogTest, TextPostgreSqlWouldRefuseNeverReachesIt) {
    make_log(1);
    record(alarm("A-1", "I-1"));
    log_->append(event("I-1", "nul-json", R"({"note":"a\u0000b"})"));
    auto with_nul = event("I-1", "nul-text");
    with_nul.actor = std::string("sys\0tem", 7);
    log_->append(std::move(with_nul));
    log_->append(event("I-1", "fine", R"({"note":"a\\u0000b"})"));  // an escaped backslash
    run();
    wait_for([&] {
        return log_->stats().queued.load() == 0 &&
               db_.scalar("SELECT count(*) FROM dead_letters") == "2";
    });
    EXPECT_EQ(db_.column("SELECT event_key FROM incident_events WHERE event_key IS NOT NULL"),
              std::vector<std::string>{"fine"});
    const auto reasons =
        db_.column("SELECT sqlstate || '|' || message FROM dead_letters ORDER BY id");
    ASSERT_EQ(reasons.size(), 2u);
    EXPECT_EQ(reasons[0], "|parameter $6 is JSON with a NUL character (\\u0000)");
    EXPECT_EQ(reasons[1], "|parameter $4 contains a NUL character");
}

TEST(UnwritableReason, NamesTheParameterAndWhy) {
    using P = std::vector<std::optional<std::string>>;
    EXPECT_FALSE(db::unwritable_reason(P{"plain", std::nullopt, "ünïcode 护校"}));
    EXPECT_FALSE(db::unwritable_reason(P{R"({"a":"\\u0000"})"}, 0));
    // Only a jsonb parameter cares about the escape; in text it is just text.
    EXPECT_FALSE(db::unwritable_reason(P{R"(["\u0000"])"}));
    EXPECT_EQ(db::unwritable_reason(P{"x", std::string("a\0b", 3)}),
              "parameter $2 contains a NUL character");
    EXPECT_EQ(db::unwritable_reason(P{"\xC3\x28"}), "parameter $1 is not valid UTF-8");
    EXPECT_EQ(db::unwritable_reason(P{"\xED\xA0\x80"}), "parameter $1 is not valid UTF-8");
    EXPECT_EQ(db::unwritable_reason(P{"\xE2\x82"}), "parameter $1 is not valid UTF-8");
    EXPECT_EQ(db::unwritable_reason(P{"x", R"(["\\\u0000"])"}, 1),
              "parameter $2 is JSON with a NUL character (\\u0000)");
}

// An alarm's check names the parameter of its record_alarms statement, as
// the general check of those parameters does.
TEST(UnwritableReason, OfAnAlarmIsThatOfItsParameters) {
    using P = std::vector<std::optional<std::string>>;
    const auto params = [](const db::AlarmRecord& a) {
        return P{a.terminal,
                 a.event_id,
                 a.incident,
                 a.join,
                 a.kind,
                 a.terminal_at ? std::optional(format_iso_micros(*a.terminal_at)) : std::nullopt,
                 a.drill ? "true" : "false",
                 a.note.empty() ? std::nullopt : std::optional(a.note),
                 format_iso_micros(a.received_at)};
    };
    db::AlarmRecord plain;
    plain.terminal = "T-1";
    plain.event_id = "A-1";
    plain.incident = "I-1";
    plain.kind = "fire";
    plain.note = "ünïcode 护校";
    plain.terminal_at = 1'788'247'800'000'000;
    plain.received_at = 1'788'247'801'000'000;
    EXPECT_FALSE(db::unwritable_reason(plain));
    const std::string nul("a\0b", 3), bad_utf8 = "\xC3\x28";
    int refused = 0;
    for (int field = 0; field < 6; ++field) {
        for (const std::string& text : {nul, bad_utf8}) {
            db::AlarmRecord a = plain;
            std::string& target = field == 0   ? a.terminal
                                  : field == 1 ? a.event_id
                                  : field == 2 ? a.incident
                                  : field == 3 ? a.join.emplace("I-0")
                                  : field == 4 ? a.kind
                                               : a.note;
            target += text;
            const auto why = db::unwritable_reason(a);
            ASSERT_TRUE(why) << field;
            EXPECT_EQ(why, db::unwritable_reason(params(a))) << field;
            ++refused;
        }
    }
    EXPECT_EQ(refused, 12);
    db::AlarmRecord noted = plain;
    noted.note = nul;
    EXPECT_EQ(db::unwritable_reason(noted), "parameter $8 contains a NUL character");
    noted.join = bad_utf8;
    EXPECT_EQ(db::unwritable_reason(noted), "parameter $4 is not valid UTF-8");
}

TEST_F(IncidentLogTest, TransientFailuresAreRetriedUntilTheRecordsCommitExactlyOnce) {
    make_log(1, /*commit_timeout_ms=*/500);
    run();
    // A first alarm commits: the log is connected. On a busy machine the
    // first commit (with the connect) can take longer than the short commit
    // timeout, so an `unavailable` answer is retried, as a terminal would.
    std::size_t before = 0;
    do {
        record(alarm("A-0", "I-0"));
        ++before;
        wait_for([&] { return answered() == before; });
    } while (results_.back().status == RecordResult::Status::unavailable && before < 20);
    ASSERT_EQ(results_.back().status, RecordResult::Status::committed);

    // Someone holds a lock the writes need: each attempt ends in lock_timeout
    // (55P03), which is transient.
    db::PgSync locker(db_.url());
    const std::string locker_pid = db::cell(locker.exec("SELECT pg_backend_pid()").get(), 0, 0);
    locker.exec("BEGIN");
    locker.exec("LOCK TABLE incident_events IN ACCESS EXCLUSIVE MODE");
    record(alarm("A-1", "I-1"));
    log_->append(event("I-1", "after-the-alarm"));
    wait_for([&] { return log_->stats().retries.load() >= 1; });
    // The alarm was answered `unavailable` meanwhile (never a false ack)...
    wait_for([&] { return answered() == before + 1; });
    EXPECT_EQ(results_.at(before).status, RecordResult::Status::unavailable);
    // ... and the connection is cut while a retry waits on the lock.
    wait_for([&] {
        return db_.scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'huxiaod' AND datname = current_database() AND wait_event_type = "
                   "'Lock'") == "1";
    });
    // (The test's own sessions are called huxiaod too: they are spared.)
    db_.scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
        "application_name = 'huxiaod' AND datname = current_database() AND pid <> "
        "pg_backend_pid() AND pid <> " +
        locker_pid);
    locker.exec("COMMIT");

    wait_for([&] {
        return db_.scalar(
                   "SELECT count(*) FROM incident_events WHERE event_key = "
                   "'after-the-alarm'") == "1";
    });
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events WHERE event_id = 'A-1'"), "1");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incident_events WHERE incident_id = 'I-1' AND "
                         "type = 'alarm_received'"),
              "1");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM dead_letters"), "0");
    EXPECT_EQ(log_->stats().rejected.load(), 0u);
    EXPECT_EQ(answered(), before + 1) << "each handler runs exactly once";
}

// A unit cleared on one incident and offered to another: the offer is made
// because of the clear, so it must not commit before it, though the two
// incidents write through different lanes. (Else a takeover between the two
// commits recovers the unit as still on the first incident while it drives to
// the second: the soak's "double" assignment, docs/availability.md §7.)
TEST_F(IncidentLogTest, AUnitsRecordsCommitInOrderAcrossLanes) {
    make_log(3);
    // Three incidents on three different lanes.
    std::vector<std::string> incidents;
    std::set<std::size_t> lanes;
    for (int i = 0; incidents.size() < 3; ++i) {
        std::string id = "I-" + std::to_string(i);
        if (lanes.insert(db::IncidentLog::lane_of(id, 3)).second) incidents.push_back(id);
    }
    const std::string& first = incidents[0];
    const std::string& second = incidents[1];
    const std::string& third = incidents[2];
    for (std::size_t i = 0; i < incidents.size(); ++i)
        record(alarm("A-" + std::to_string(i), incidents[i]));
    run();
    wait_for([&] { return answered() == 3; });
    for (const auto& r : results_) ASSERT_EQ(r.status, RecordResult::Status::committed);

    // The first incident's lane cannot write: its row is locked.
    db::PgSync locker(db_.url());
    locker.exec("BEGIN");
    locker.exec("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE", {first});
    auto cleared = event(first, "cleared");
    cleared.type = "unit_cleared";
    cleared.unit = "P-1";
    auto offered = event(second, "offered");
    offered.unit = "P-1";
    log_->append(std::move(cleared));
    log_->append(std::move(offered));
    log_->append(event(third, "elsewhere"));
    // The third lane writes; the offer waits for the clear it follows from.
    wait_for([&] {
        return db_.scalar("SELECT count(*) FROM incident_events WHERE event_key = 'elsewhere'") ==
               "1";
    });
    EXPECT_EQ(log_->stats().held_for_unit.load(), 1u);
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incident_events WHERE event_key IN "
                         "('cleared', 'offered')"),
              "0");

    locker.exec("COMMIT");
    wait_for([&] { return log_->stats().queued.load() == 0; });
    EXPECT_EQ(db_.scalar("SELECT string_agg(event_key, ',' ORDER BY seq) FROM incident_events "
                         "WHERE event_key IN ('cleared', 'offered')"),
              "cleared,offered");
    EXPECT_EQ(log_->stats().held_for_unit.load(), 1u);
}

// Several batches in flight per lane (database.batches_in_flight, default 2):
// in pipeline mode a batch that fails does not stop the next one, which may
// commit first. These tests make the first batch of a lane wait on a row lock
// (its incident's row locked FOR UPDATE: the timeline insert's key check
// waits) until lock_timeout fails it, and look at what overtook it.
class BatchesInFlight : public IncidentLogTest {
  protected:
    // Commits an alarm for each incident (so timeline records can refer to it).
    void open_incidents(const std::vector<std::string>& incidents) {
        for (std::size_t i = 0; i < incidents.size(); ++i)
            record(alarm("A-" + incidents[i], incidents[i]));
        const std::size_t n = incidents.size();
        wait_for([&] { return answered() == n; });
        for (const auto& r : results_) ASSERT_EQ(r.status, RecordResult::Status::committed);
    }
    std::string locks_waited() {
        return db_.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'huxiaod' AND "
            "datname = current_database() AND wait_event_type = 'Lock'");
    }
    bool committed(const std::string& key) {
        return db_.scalar("SELECT count(*) FROM incident_events WHERE event_key = $1", {key}) ==
               "1";
    }
    std::string order_of(const std::string& keys) {
        return db_.scalar(
            "SELECT string_agg(event_key, ',' ORDER BY seq) FROM incident_events "
            "WHERE event_key = ANY($1::text[])",
            {keys});
    }
    db::TimelineRecord with_unit(db::TimelineRecord r, const std::string& unit) {
        r.unit = unit;
        return r;
    }
    // Incidents I-A and I-B, then a fresh log (one connection) whose first
    // batch, a1..a3 of I-A (queued before it connected), waits on a row lock
    // that the returned session holds until the test commits it.
    std::unique_ptr<db::PgSync> first_batch_of_three_waits_on_a_lock() {
        make_log(1);
        run();
        open_incidents({"I-A", "I-B"});
        stop();
        io_.restart();
        work_.emplace(asio::make_work_guard(io_));
        auto locker = std::make_unique<db::PgSync>(db_.url());
        locker->exec("BEGIN");
        locker->exec("SELECT 1 FROM incidents WHERE id = 'I-A' FOR UPDATE");
        make_log(1);
        for (const char* key : {"a1", "a2", "a3"}) log_->append(event("I-A", key));
        run();
        wait_for([&] { return locks_waited() == "1"; });
        return locker;
    }
};

TEST_F(BatchesInFlight, ALaterBatchOfAnotherIncidentCommitsFirstButNoRecordOfTheFailedOnesDoes) {
    make_log(1, /*commit_timeout_ms=*/60000);  // one lane; the alarm is answered once it commits
    run();
    open_incidents({"I-A", "I-B"});
    // The alarm's statement needs terminal_events; a timeline record does not.
    db::PgSync locker(db_.url());
    locker.exec("BEGIN");
    locker.exec("LOCK TABLE terminal_events IN ACCESS EXCLUSIVE MODE");
    auto repeat = alarm("A-2", "I-new");
    repeat.join = "I-A";
    record(repeat);
    wait_for([&] { return locks_waited() == "1"; });
    // Queued while the alarm is in flight: a2 shares its incident and must
    // stay (it could commit: it does not need the locked table); b1 does not
    // and goes in a second batch, behind the alarm on the connection.
    log_->append(event("I-A", "a2"));
    log_->append(event("I-B", "b1"));
    wait_for([&] { return log_->stats().batches_pipelined.load() >= 1; });
    EXPECT_GE(log_->stats().held_for_key.load(), 1u);

    // lock_timeout (5 s) fails the alarm's batch; b1's commits after it; the
    // alarm goes back in front of a2 and waits on the lock again.
    wait_for([&] { return committed("b1"); });
    EXPECT_GE(log_->stats().retries.load(), 1u);
    wait_for([&] { return locks_waited() == "1"; });
    EXPECT_FALSE(committed("a2")) << "a2 overtook the alarm of its incident, which failed";

    locker.exec("COMMIT");
    wait_for([&] { return log_->stats().queued.load() == 0 && answered() == 3; });
    EXPECT_EQ(results_.at(2).status, RecordResult::Status::committed) << results_.at(2).message;
    EXPECT_EQ(results_.at(2).outcome, "repeat");
    EXPECT_EQ(
        db_.scalar("SELECT string_agg(coalesce(event_key, type || ':' || (details->>'alarm')),"
                   " ',' ORDER BY seq) FROM incident_events"
                   " WHERE event_key IN ('a2', 'b1') OR details->>'alarm' = 'A-2'"),
        "b1,repeat_alarm:A-2,a2");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM dead_letters"), "0");
}

// Behind a batch in flight, a smaller batch waits (it would cost a commit for
// fewer records): the second batch goes out once it is as big as the first.
TEST_F(BatchesInFlight, ASecondBatchGoesOutOnceItIsAsBigAsTheOneInFlight) {
    const auto locker = first_batch_of_three_waits_on_a_lock();
    log_->append(event("I-B", "b1"));
    log_->append(event("I-B", "b2"));
    wait_for([&] { return log_->stats().queued.load() == 5; });  // queued (b1, b2 wait)
    EXPECT_EQ(log_->stats().batches_pipelined.load(), 0u);
    log_->append(event("I-B", "b3"));
    wait_for([&] { return log_->stats().batches_pipelined.load() == 1; });
    locker->exec("COMMIT");
    wait_for([&] { return log_->stats().queued.load() == 0; });
    EXPECT_EQ(order_of("{a1,a2,a3,b1,b2,b3}"), "a1,a2,a3,b1,b2,b3");
    EXPECT_EQ(log_->stats().batches_pipelined.load(), 1u);
    EXPECT_EQ(log_->stats().batches.load(), 2u);
}

// The size rule counts only records that may go: one left behind for its key
// (its incident's batch is in flight) neither makes a smaller batch go nor
// loses its place, and it follows its incident's batch once that commits.
TEST_F(BatchesInFlight, ARecordHeldForItsKeyDoesNotCountTowardsTheNextBatch) {
    const auto locker = first_batch_of_three_waits_on_a_lock();
    log_->append(event("I-A", "a4"));  // its incident is in flight: it stays
    log_->append(event("I-B", "b1"));
    log_->append(event("I-B", "b2"));
    wait_for([&] { return log_->stats().queued.load() == 6; });
    // Three queued, as many as in flight, but only two may go: none does.
    EXPECT_EQ(log_->stats().batches_pipelined.load(), 0u);
    log_->append(event("I-B", "b3"));
    wait_for([&] { return log_->stats().batches_pipelined.load() == 1; });
    EXPECT_GE(log_->stats().held_for_key.load(), 1u);
    EXPECT_FALSE(committed("a4"));
    locker->exec("COMMIT");
    wait_for([&] { return log_->stats().queued.load() == 0; });
    EXPECT_EQ(order_of("{a1,a2,a3,a4,b1,b2,b3}"), "a1,a2,a3,b1,b2,b3,a4");
    EXPECT_EQ(log_->stats().batches.load(), 3u);
}

// Item::after and Lane::committed_seq: a unit's record on another lane waits
// for everything queued before it on its previous lane, not only for the
// batch that holds the unit's previous record, when that batch commits before
// an earlier one of its lane that failed.
TEST_F(BatchesInFlight, AUnitsRecordWaitsForTheWholePrefixOfTheOtherLane) {
    make_log(2);
    std::vector<std::string> first_lane, second_lane;
    for (int i = 0; first_lane.size() < 2 || second_lane.empty(); ++i) {
        std::string id = "I-" + std::to_string(i);
        auto& to = db::IncidentLog::lane_of(id, 2) == 0 ? first_lane : second_lane;
        if (to.size() < 2) to.push_back(id);
    }
    const std::string x1 = first_lane[0], x2 = first_lane[1], y = second_lane[0];
    run();
    open_incidents({x1, x2, y});
    db::PgSync locker(db_.url());
    locker.exec("BEGIN");
    locker.exec("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE", {x1});
    log_->append(event(x1, "x1"));
    wait_for([&] { return locks_waited() == "1"; });
    log_->append(with_unit(event(x2, "x2"), "P-1"));  // a second batch on x1's lane
    wait_for([&] { return log_->stats().batches_pipelined.load() >= 1; });
    log_->append(with_unit(event(y, "y"), "P-1"));  // after x1 and x2
    wait_for([&] { return log_->stats().held_for_unit.load() == 1; });

    // x1's batch fails (lock_timeout), x2's commits: the lane has not
    // committed up to y's mark, since x1 has not.
    wait_for([&] { return committed("x2"); });
    wait_for([&] { return locks_waited() == "1"; });  // x1 retried, waiting again
    EXPECT_FALSE(committed("y")) << "y went before x1, queued before it on x2's lane";

    locker.exec("COMMIT");
    wait_for([&] { return log_->stats().queued.load() == 0; });
    EXPECT_EQ(order_of("{x1,x2,y}"), "x2,x1,y");
}

// The connection is lost with two batches in flight: neither outcome is
// known, both are retried, and each record is written once, each handler
// answered once.
TEST_F(BatchesInFlight, BothBatchesInFlightOnALostConnectionAreRetriedAndWrittenOnce) {
    make_log(1, /*commit_timeout_ms=*/30000);  // the alarm is answered once it commits
    run();
    open_incidents({"I-A"});
    db::PgSync locker(db_.url());
    const std::string locker_pid = db::cell(locker.exec("SELECT pg_backend_pid()").get(), 0, 0);
    locker.exec("BEGIN");
    locker.exec("SELECT 1 FROM incidents WHERE id = 'I-A' FOR UPDATE");
    log_->append(event("I-A", "a1"));
    wait_for([&] { return locks_waited() == "1"; });
    record(alarm("A-2", "I-C"));  // another incident: a second batch
    wait_for([&] { return log_->stats().batches_pipelined.load() >= 1; });
    db_.scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
        "application_name = 'huxiaod' AND datname = current_database() AND pid <> "
        "pg_backend_pid() AND pid <> " +
        locker_pid);
    wait_for([&] { return log_->stats().retries.load() >= 2; });
    locker.exec("COMMIT");
    wait_for([&] { return log_->stats().queued.load() == 0 && answered() == 2; });
    EXPECT_EQ(results_.at(1).status, RecordResult::Status::committed) << results_.at(1).message;
    EXPECT_EQ(results_.at(1).incident, "I-C");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events WHERE event_id = 'A-2'"), "1");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incident_events WHERE event_key = 'a1'"), "1");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "2");
    EXPECT_EQ(answered(), 2u) << "each handler runs exactly once";
}

// The set-based alarm statement (sql/013, huxiao_record_alarms): a batch's
// alarms go in one statement, with the outcome each would have had alone, in
// queue order. Records queued before run() share one batch on one lane.
class RecordAlarms : public IncidentLogTest {
  protected:
    void SetUp() override {
        IncidentLogTest::SetUp();
        db::PgSync c(db_.url());
        c.exec("INSERT INTO terminals (id, school_id) VALUES ('T-2', 'S-1')");
    }
    // A one-lane log of the leader holding epoch 1 (taken here through `c`),
    // running, that counts the times it was fenced in `fenced`. The commit
    // timeout is long enough for the first commit, which also connects, on a
    // busy machine (500 ms was not, once under ctest -j2 at load 9); fenced
    // alarms are answered `unavailable` when it runs out.
    void run_fenced_log(db::PgSync& c, std::atomic<int>& fenced) {
        ASSERT_EQ(db::cell(c.exec("SELECT huxiao_acquire_lease('a', 60000, '', '')").get(), 0, 0),
                  "1");
        make_log(1, /*commit_timeout_ms=*/3000);
        log_->fence(
            1, std::chrono::milliseconds(60000), [] { return true; },
            [&fenced](const std::string&) { ++fenced; });
        run();
    }
    db::AlarmRecord alarm_from(const std::string& terminal, const std::string& event,
                               const std::string& incident,
                               std::optional<std::string> join = std::nullopt) {
        auto a = alarm(event, incident);
        a.terminal = terminal;
        a.join = std::move(join);
        return a;
    }
    // "status incident outcome" of each answer, in the order answered.
    std::vector<std::string> outcomes() {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const auto& r : results_) {
            out.push_back(
                std::string(r.status == RecordResult::Status::committed ? "committed" : "not") +
                " " + r.incident + " " + r.outcome);
        }
        return out;
    }
    // A new log on the same database, with nothing sent until run(): what
    // is recorded before that shares one batch.
    void restart_log() {
        stop();
        results_.clear();
        io_.restart();
        work_.emplace(asio::make_work_guard(io_));
        make_log(1);
    }
    std::string timeline(const std::string& incident) {
        return db_.scalar(
            "SELECT string_agg(type || coalesce(':' || (details->>'alarm'), ''), ',' ORDER BY seq)"
            " FROM incident_events WHERE incident_id = $1",
            {incident});
    }
};

TEST_F(RecordAlarms, DuplicatesWithinOneBatchAreRecordedOnceAndGetTheFirstOnesIncident) {
    make_log(1);
    record(alarm("A-1", "I-1"));
    record(alarm("A-1", "I-2"));                     // triage forgot it: proposes another
    record(alarm_from("T-1", "A-1", "I-3", "I-1"));  // or joins the first
    run();
    wait_for([&] { return answered() == 3; });
    EXPECT_EQ(outcomes(), (std::vector<std::string>{"committed I-1 new", "committed I-1 duplicate",
                                                    "committed I-1 duplicate"}));
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events"), "1");
    EXPECT_EQ(db_.scalar("SELECT string_agg(id, ',') FROM incidents"), "I-1");
    EXPECT_EQ(timeline("I-1"), "alarm_received:A-1");
    EXPECT_EQ(log_->stats().batches.load(), 1u);
}

// The arrays are bound as text literals (alarms_query): quotes, backslashes,
// commas, braces and the word NULL inside a field arrive byte for byte.
TEST_F(RecordAlarms, QuotesBackslashesBracesAndTheWordNullArriveByteForByte) {
    make_log(1);
    const std::string id = R"(A"1\,{x}\\)";
    const std::string note = R"(say "hi" \ back, {x} NULL "" \\ é)";
    auto a = alarm(id, "I-1");
    a.note = note;
    record(std::move(a));
    record(alarm_from("T-2", "NULL", "I-2"));
    run();
    wait_for([&] { return answered() == 2; });
    EXPECT_EQ(outcomes(), (std::vector<std::string>{"committed I-1 new", "committed I-2 new"}));
    EXPECT_EQ(db_.scalar("SELECT event_id FROM terminal_events WHERE terminal_id = 'T-1'"), id);
    EXPECT_EQ(db_.scalar("SELECT event_id FROM terminal_events WHERE terminal_id = 'T-2'"), "NULL");
    EXPECT_EQ(db_.scalar("SELECT details->>'note' FROM incident_events WHERE incident_id = 'I-1'"
                         " AND type = 'alarm_received'"),
              note);
}

TEST_F(RecordAlarms, ARetransmissionInALaterBatchWritesNothingAndGetsTheRecordedIncident) {
    make_log(1);
    run();
    record(alarm("A-1", "I-1"));
    wait_for([&] { return answered() == 1; });
    record(alarm("A-1", "I-2"));                     // after a restart: a fresh proposal
    record(alarm_from("T-1", "A-1", "I-3", "I-1"));  // or a join of the open incident
    wait_for([&] { return answered() == 3; });
    EXPECT_EQ(outcomes(), (std::vector<std::string>{"committed I-1 new", "committed I-1 duplicate",
                                                    "committed I-1 duplicate"}));
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events"), "1");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(timeline("I-1"), "alarm_received:A-1");
}

TEST_F(RecordAlarms, ARepeatJoinsTheOpenIncidentAfterItsOwnBatchAndInsideOne) {
    make_log(1);
    run();
    record(alarm("A-1", "I-1"));
    wait_for([&] { return answered() == 1; });
    // The same terminal again, then another terminal of the school, in one batch.
    restart_log();
    record(alarm_from("T-1", "A-2", "I-2", "I-1"));
    record(alarm_from("T-2", "B-1", "I-3", "I-1"));
    run();
    wait_for([&] { return answered() == 2; });
    EXPECT_EQ(outcomes(),
              (std::vector<std::string>{"committed I-1 repeat", "committed I-1 repeat"}));
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(timeline("I-1"), "alarm_received:A-1,repeat_alarm:A-2,repeat_alarm:B-1");
    EXPECT_EQ(db_.scalar("SELECT string_agg(terminal_id || '/' || event_id || '>' || incident_id,"
                         " ',' ORDER BY received_at, terminal_id, event_id) FROM terminal_events"),
              "T-1/A-1>I-1,T-1/A-2>I-1,T-2/B-1>I-1");
}

TEST_F(RecordAlarms, ABatchMixingEveryCaseKeepsEachOutcomeAndTheTimelineOrder) {
    make_log(1);
    run();
    record(alarm("A-0", "I-0"));
    wait_for([&] { return answered() == 1; });
    restart_log();
    record(alarm("A-0", "I-9"));                     // a retransmission of the earlier batch
    record(alarm("A-1", "I-1"));                     // opens I-1
    log_->append(event("I-1", "offer-1"));           // the core's offer, queued after it
    record(alarm_from("T-1", "A-2", "I-5", "I-1"));  // joins I-1, opened in this batch
    record(alarm("A-1", "I-6"));                     // A-1 again in the same batch
    record(alarm_from("T-2", "B-1", "I-7", "I-0"));  // joins I-0 of the earlier batch
    record(
        alarm_from("T-2", "B-2", "I-8", "I-404"));  // the incident it names is not there: opens it
    record(alarm_from("T-1", "A-3", "I-4", "I-404"));  // joins that one
    run();
    wait_for([&] { return answered() == 7 && log_->stats().queued.load() == 0; });
    EXPECT_EQ(outcomes(),
              (std::vector<std::string>{"committed I-0 duplicate", "committed I-1 new",
                                        "committed I-1 repeat", "committed I-1 duplicate",
                                        "committed I-0 repeat", "committed I-404 new",
                                        "committed I-404 repeat"}));
    EXPECT_EQ(log_->stats().batches.load(), 1u) << "one batch, two alarm statements";
    EXPECT_EQ(db_.scalar("SELECT string_agg(id, ',' ORDER BY id) FROM incidents"), "I-0,I-1,I-404");
    EXPECT_EQ(timeline("I-0"), "alarm_received:A-0,repeat_alarm:B-1");
    // The offer queued between A-1 and A-2 stays between them.
    EXPECT_EQ(timeline("I-1"), "alarm_received:A-1,offer_sent,repeat_alarm:A-2");
    EXPECT_EQ(timeline("I-404"), "alarm_received:B-2,repeat_alarm:A-3");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events"), "6");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM dead_letters"), "0");
}

TEST_F(RecordAlarms, AnUnknownTerminalIsRefusedAloneAndTheRestOfItsBatchCommits) {
    make_log(1);
    record(alarm("A-1", "I-1"));
    record(alarm_from("T-GONE", "X-1", "I-2"));
    record(alarm_from("T-2", "B-1", "I-3", "I-1"));
    run();
    wait_for([&] { return answered() == 3 && log_->stats().queued.load() == 0; });
    EXPECT_EQ(outcomes(),
              (std::vector<std::string>{"committed I-1 new", "not  ", "committed I-1 repeat"}));
    EXPECT_EQ(db_.scalar("SELECT statement || ' ' || sqlstate FROM dead_letters"),
              "record_alarms 23503");
    EXPECT_NE(db_.scalar("SELECT params FROM dead_letters").find("T-GONE"), std::string::npos);
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events WHERE terminal_id = 'T-GONE'"), "0");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "1");
    // What the dropped foreign key guarded: a terminal with alarms stays.
    db::PgSync c(db_.url());
    EXPECT_THROW(c.exec("DELETE FROM terminals WHERE id = 'T-1'"), std::runtime_error);
    EXPECT_THROW(c.exec("UPDATE terminals SET id = 'T-1b' WHERE id = 'T-2'"), std::runtime_error);
    c.exec("INSERT INTO terminals (id, school_id) VALUES ('T-3', 'S-1')");
    c.exec("DELETE FROM terminals WHERE id = 'T-3'");  // none: it goes
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminals"), "2");
}

TEST_F(RecordAlarms, TheFenceRefusesAStaleEpochAndTheCurrentOneIsRecordedWithItsAlarms) {
    db::PgSync c(db_.url());
    std::atomic<int> fenced{0};
    run_fenced_log(c, fenced);
    ASSERT_FALSE(HasFatalFailure());
    record(alarm("A-1", "I-1"));
    record(alarm_from("T-2", "B-1", "I-2", "I-1"));
    wait_for([&] { return answered() == 2; });
    EXPECT_EQ(outcomes(), (std::vector<std::string>{"committed I-1 new", "committed I-1 repeat"}));
    EXPECT_EQ(db_.scalar("SELECT string_agg(coalesce(epoch::text, 'null'), ',' ORDER BY seq)"
                         " FROM incident_events"),
              "1,1");

    // Another server takes over: epoch 1 is stale from now on.
    c.exec("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1 WHERE id = 1");
    record(alarm("A-2", "I-3"));
    record(alarm("A-1", "I-4"));  // even a retransmission is not answered
    wait_for([&] { return fenced.load() == 1 && answered() == 4; });
    const auto all = outcomes();
    EXPECT_EQ(all.at(2), "not  ") << "never a false ack";
    EXPECT_EQ(all.at(3), "not  ");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events"), "2");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incident_events"), "2");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "1");
}

// A fenced batch stops everything: the batch pipelined behind it on its lane
// checks the epoch too and writes nothing.
TEST_F(RecordAlarms, AFencedBatchStopsTheBatchInFlightBehindIt) {
    db::PgSync c(db_.url());
    std::atomic<int> fenced{0};
    run_fenced_log(c, fenced);
    ASSERT_FALSE(HasFatalFailure());
    record(alarm("A-1", "I-1"));
    wait_for([&] { return answered() == 1; });
    ASSERT_EQ(outcomes().at(0), "committed I-1 new");

    // The takeover holds the lease row while the next two batches arrive.
    db::PgSync takeover(db_.url());
    takeover.exec("BEGIN");
    takeover.exec("SELECT 1 FROM leader_lease WHERE id = 1 FOR UPDATE");
    record(alarm("A-2", "I-2"));
    wait_for([&] {
        return db_.scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'huxiaod' AND "
                   "datname = current_database() AND wait_event_type = 'Lock'") == "1";
    });
    record(alarm_from("T-2", "B-2", "I-3"));  // another incident and terminal: pipelined
    wait_for([&] { return log_->stats().batches_pipelined.load() >= 1; });
    takeover.exec("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1 WHERE id = 1");
    takeover.exec("COMMIT");

    wait_for([&] { return fenced.load() == 1 && answered() == 3; });
    const auto all = outcomes();
    EXPECT_EQ(all.at(1), "not  ") << "never a false ack";
    EXPECT_EQ(all.at(2), "not  ");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM terminal_events"), "1");
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(fenced.load(), 1);
}

}  // namespace
}  // namespace huxiao::test
