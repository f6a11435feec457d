// PgConnection against the real PostgreSQL (pipeline mode): several batches
// in flight, an SQL error in the middle of a batch, the backend terminated
// while a batch runs, a deadline on an unanswered batch, the session setup
// and a multi-host URL whose first host is down.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "server/db/pg_connection.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;
using db::PgBatchOutcome;
using db::PgErrc;
using db::PgQuery;

class PgConnectionTest : public ::testing::Test {
  protected:
    void SetUp() override { db::PgSync(db_.url()).exec("CREATE TABLE t (x integer PRIMARY KEY)"); }

    std::shared_ptr<db::PgConnection> connect(const std::string& url,
                                              db::PgSessionOptions options = {}) {
        auto c = std::make_shared<db::PgConnection>(strand_, blocking_, db::make_conninfo(url, 5),
                                                    std::vector<db::PreparedStatement>{},
                                                    std::move(options));
        std::optional<std::optional<db::PgFailure>> result;
        c->async_connect([&](std::optional<db::PgFailure> f) { result = std::move(f); });
        run_until([&] { return result.has_value(); });
        EXPECT_FALSE(*result) << (*result)->message;
        return c;
    }

    // Runs the event loop until `done` holds (each test has a generous overall
    // bound so that a bug fails the test instead of hanging it).
    void run_until(const std::function<bool()>& done) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!done()) {
            ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "condition never held";
            io_.restart();
            io_.run_for(std::chrono::milliseconds(20));
        }
    }

    static PgQuery sql(std::string text) { return PgQuery{std::move(text), {}, false}; }
    static PgQuery insert(int x) {
        return PgQuery{"INSERT INTO t VALUES ($1) RETURNING x", {std::to_string(x)}, false};
    }

    TestDatabase db_;
    asio::io_context io_;
    asio::any_io_executor strand_ = asio::make_strand(io_);
    asio::thread_pool blocking_{1};
};

TEST_F(PgConnectionTest, SeveralBatchesInFlightCompleteInOrderWithTheirOwnResults) {
    auto c = connect(db_.url());
    std::vector<int> order;
    std::vector<std::string> firsts;
    for (int b = 0; b < 5; ++b) {
        c->submit({insert(b * 10), insert(b * 10 + 1), insert(b * 10 + 2)},
                  [&, b](PgBatchOutcome o) {
                      ASSERT_FALSE(o.failure) << o.failure->message;
                      ASSERT_EQ(o.results.size(), 3u);
                      order.push_back(b);
                      firsts.push_back(db::cell(o.results[0].get(), 0, 0));
                  });
    }
    EXPECT_EQ(c->in_flight(), 5u);
    run_until([&] { return order.size() == 5; });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(firsts, (std::vector<std::string>{"0", "10", "20", "30", "40"}));
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM t"), "15");
}

TEST_F(PgConnectionTest, AnSqlErrorMidBatchRollsBackOnlyThatBatch) {
    auto c = connect(db_.url());
    std::vector<PgBatchOutcome> outcomes(3);
    int done = 0;
    c->submit({insert(1)}, [&](PgBatchOutcome o) { outcomes[0] = std::move(o), ++done; });
    c->submit({insert(2), sql("SELECT 1 / 0"), insert(3)},
              [&](PgBatchOutcome o) { outcomes[1] = std::move(o), ++done; });
    c->submit({insert(4)}, [&](PgBatchOutcome o) { outcomes[2] = std::move(o), ++done; });
    run_until([&] { return done == 3; });
    EXPECT_FALSE(outcomes[0].failure);
    ASSERT_TRUE(outcomes[1].failure);
    EXPECT_EQ(outcomes[1].failure->ec, make_error_code(PgErrc::query_failed));
    EXPECT_EQ(outcomes[1].failure->sqlstate, "22012");  // division by zero
    EXPECT_TRUE(outcomes[1].results.empty());
    EXPECT_FALSE(outcomes[2].failure);
    EXPECT_EQ(db_.column("SELECT x::text FROM t ORDER BY x"), (std::vector<std::string>{"1", "4"}));
    EXPECT_TRUE(c->ready()) << "an SQL error leaves the connection usable";
}

TEST_F(PgConnectionTest, ABackendTerminatedMidBatchFailsTheBatchAsTransientAndReconnects) {
    auto c = connect(db_.url());
    std::optional<std::string> pid;
    c->submit({sql("SELECT pg_backend_pid()")},
              [&](PgBatchOutcome o) { pid = db::cell(o.results.at(0).get(), 0, 0); });
    run_until([&] { return pid.has_value(); });

    std::optional<db::PgFailure> lost;
    c->on_lost([&](const db::PgFailure& f) { lost = f; });
    std::optional<PgBatchOutcome> slow, behind;
    c->submit({insert(1), sql("SELECT pg_sleep(30)")},
              [&](PgBatchOutcome o) { slow = std::move(o); });
    c->submit({insert(2)}, [&](PgBatchOutcome o) { behind = std::move(o); });
    // Wait until the backend is inside the sleep, then end it from outside.
    run_until([&] {
        return db_.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + *pid +
                          " AND wait_event = 'PgSleep'") == "1";
    });
    db_.scalar("SELECT pg_terminate_backend(" + *pid + ")");
    run_until([&] { return slow && behind && lost; });
    // Both the running batch and the one behind it have an unknown outcome
    // for the caller: failed, and transient, so they are retried, never acked.
    ASSERT_TRUE(slow->failure);
    ASSERT_TRUE(behind->failure);
    EXPECT_FALSE(db::is_refusal(db::classify(*slow->failure))) << slow->failure->message;
    EXPECT_FALSE(db::is_refusal(db::classify(*behind->failure))) << behind->failure->message;
    EXPECT_FALSE(c->ready());
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM t"), "0");

    // A new connection takes the retried batches; nothing is doubled.
    auto again = connect(db_.url());
    int done = 0;
    again->submit({insert(1)}, [&](PgBatchOutcome o) {
        EXPECT_FALSE(o.failure);
        ++done;
    });
    again->submit({insert(2)}, [&](PgBatchOutcome o) {
        EXPECT_FALSE(o.failure);
        ++done;
    });
    run_until([&] { return done == 2; });
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM t"), "2");
}

TEST_F(PgConnectionTest, ABatchWithNoAnswerWithinItsDeadlineTimesOut) {
    db::PgSessionOptions options;
    options.batch_timeout = std::chrono::milliseconds(300);
    auto c = connect(db_.url(), options);
    std::optional<PgBatchOutcome> quick, stuck;
    c->submit({sql("SELECT 1")}, [&](PgBatchOutcome o) { quick = std::move(o); });
    run_until([&] { return quick.has_value(); });
    EXPECT_FALSE(quick->failure) << "a batch answered in time is not affected";
    c->submit({sql("SELECT pg_sleep(30)")}, [&](PgBatchOutcome o) { stuck = std::move(o); });
    run_until([&] { return stuck.has_value(); });
    ASSERT_TRUE(stuck->failure);
    EXPECT_EQ(stuck->failure->ec, make_error_code(PgErrc::timed_out));
    EXPECT_FALSE(c->ready());
}

TEST_F(PgConnectionTest, SessionSetupRunsBeforeTheFirstBatch) {
    db::PgSessionOptions options;
    options.setup = {"SET lock_timeout = '5s'", "SET statement_timeout = '30s'"};
    auto c = connect(db_.url(), options);
    std::optional<PgBatchOutcome> o;
    c->submit({sql("SELECT current_setting('lock_timeout') || ',' || "
                   "current_setting('statement_timeout') || ',' || "
                   "current_setting('application_name')")},
              [&](PgBatchOutcome r) { o = std::move(r); });
    run_until([&] { return o.has_value(); });
    ASSERT_FALSE(o->failure);
    EXPECT_EQ(db::cell(o->results.at(0).get(), 0, 0), "5s,30s,huxiaod");
}

TEST_F(PgConnectionTest, FailingSessionSetupFailsTheConnectWithItsReason) {
    db::PgSessionOptions options;
    options.setup = {"SET no_such_setting_at_all = 1"};
    auto c = std::make_shared<db::PgConnection>(strand_, blocking_, db::make_conninfo(db_.url(), 5),
                                                std::vector<db::PreparedStatement>{}, options);
    std::optional<std::optional<db::PgFailure>> result;
    c->async_connect([&](std::optional<db::PgFailure> f) { result = std::move(f); });
    run_until([&] { return result.has_value(); });
    ASSERT_TRUE(*result);
    EXPECT_EQ((*result)->ec, make_error_code(PgErrc::connect_failed));
    EXPECT_NE((*result)->message.find("no_such_setting_at_all"), std::string::npos);
}

TEST_F(PgConnectionTest, AMultiHostUrlSkipsAHostThatIsDown) {
    // contract §8: database.url may name several hosts in libpq's syntax.
    const std::string url = db_.url();
    const auto at = url.find('@');
    ASSERT_NE(at, std::string::npos) << url;
    const std::string multi = url.substr(0, at + 1) +
                              "127.0.0.1:" + std::to_string(free_tcp_port()) + "," +
                              url.substr(at + 1);
    auto c = connect(multi);
    ASSERT_TRUE(c->ready());
    std::optional<PgBatchOutcome> o;
    c->submit({insert(7)}, [&](PgBatchOutcome r) { o = std::move(r); });
    run_until([&] { return o.has_value(); });
    EXPECT_FALSE(o->failure);
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM t"), "1");
}

TEST(MakeConninfo, AddsTimeoutsKeepalivesAndReadWriteWithoutOverriding) {
    const auto uri = db::make_conninfo("postgresql://u@h1:5432,h2:5432/d", 5);
    for (const char* part : {"?connect_timeout=5", "&keepalives=1", "&tcp_user_timeout=",
                             "&target_session_attrs=read-write", "&application_name=huxiaod"}) {
        EXPECT_NE(uri.find(part), std::string::npos) << part << " in " << uri;
    }
    const auto theirs =
        db::make_conninfo("postgresql://u@h/d?target_session_attrs=any&tcp_user_timeout=1", 5);
    EXPECT_EQ(theirs.find("read-write"), std::string::npos) << theirs;
    EXPECT_EQ(theirs.find("tcp_user_timeout=10000"), std::string::npos) << theirs;
    // key=value form: ours first, so the operator's later keys win.
    const auto kv = db::make_conninfo("host=h target_session_attrs=any", 5);
    EXPECT_LT(kv.find("target_session_attrs=read-write"), kv.find("target_session_attrs=any"));
    // The options must be understood by libpq itself.
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(uri.c_str(), &error);
    ASSERT_NE(parsed, nullptr) << (error ? error : "");
    PQconninfoFree(parsed);
}

}  // namespace
}  // namespace huxiao::test
