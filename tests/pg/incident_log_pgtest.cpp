// IncidentLog against the real PostgreSQL: group commit, a refused record kept
// in dead_letters while the rest of its batch commits, text PostgreSQL would
// refuse never sent, and transient failures (a lock timeout, the backend
// terminated mid-batch) retried until the records commit, exactly once.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <mutex>
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

TEST_F(IncidentLogTest, TransientFailuresAreRetriedUntilTheRecordsCommitExactlyOnce) {
    make_log(1, /*commit_timeout_ms=*/500);
    run();
    record(alarm("A-0", "I-0"));
    wait_for([&] { return answered() == 1; });
    ASSERT_EQ(results_.at(0).status, RecordResult::Status::committed);

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
    wait_for([&] { return answered() == 2; });
    EXPECT_EQ(results_.at(1).status, RecordResult::Status::unavailable);
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
    EXPECT_EQ(answered(), 2u) << "each handler runs exactly once";
}

}  // namespace
}  // namespace huxiao::test
