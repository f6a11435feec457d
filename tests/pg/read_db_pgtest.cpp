// ReadDb's fencing against the real PostgreSQL (contract §8,
// docs/availability.md §6): once a leader has called fence_writes(epoch),
// every query() and transaction() starts with huxiao_fence(epoch), so that
// an admin write of a leader paused past its lease fails with HX001 instead
// of landing after another server took over; read() is never fenced.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "server/db/migrations.hpp"
#include "server/db/pg_error.hpp"
#include "server/db/read_db.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;

class ReadDbFence : public ::testing::Test {
  protected:
    void SetUp() override {
        db::PgSync c(db_.url());
        db::apply_migrations(c);
        // Node a leads with epoch 1.
        ASSERT_EQ(db::cell(c.exec("SELECT huxiao_acquire_lease('a', 60000, '', '')").get(), 0, 0),
                  "1");
        DatabaseConfig config;
        config.url = db_.url();
        read_db_ = std::make_unique<db::ReadDb>(io_.get_executor(), config, 1);
        read_db_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        asio::post(io_, [this] { read_db_->stop(); });
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }

    db::PgBatchOutcome query(const std::string& sql) {
        return asio::co_spawn(io_, read_db_->query(sql), asio::use_future).get();
    }
    db::PgBatchOutcome read(const std::string& sql) {
        return asio::co_spawn(io_, read_db_->read(sql), asio::use_future).get();
    }
    // Another server takes over: what huxiao_acquire_lease does once the
    // lease has expired.
    void take_over() {
        db::PgSync c(db_.url());
        c.exec("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1 WHERE id = 1");
    }
    std::string districts_named(const std::string& id) {
        db::PgSync c(db_.url());
        return db::cell(c.exec("SELECT count(*) FROM districts WHERE id = $1", {id}).get(), 0, 0);
    }

    TestDatabase db_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::unique_ptr<db::ReadDb> read_db_;
    std::thread thread_;
};

TEST_F(ReadDbFence, TheLeadersWritesCommitAndCallersSeeOnlyTheirOwnResults) {
    read_db_->fence_writes(1);
    const auto outcome =
        query("INSERT INTO districts (id, name) VALUES ('D-F', 'Fenced') RETURNING id, name");
    ASSERT_FALSE(outcome.failure) << outcome.failure->message;
    ASSERT_EQ(outcome.results.size(), 1u);
    EXPECT_EQ(db::cell(outcome.results[0].get(), 0, 0), "D-F");
    EXPECT_EQ(db::cell(outcome.results[0].get(), 0, 1), "Fenced");
    EXPECT_EQ(districts_named("D-F"), "1");
}

TEST_F(ReadDbFence, AfterATakeoverTheOldLeadersWritesFailWithHX001AndLeaveNothing) {
    read_db_->fence_writes(1);
    take_over();
    const auto outcome = query("INSERT INTO districts (id, name) VALUES ('D-G', 'Late')");
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->sqlstate, db::kFencedSqlstate);
    EXPECT_EQ(districts_named("D-G"), "0");
    // Reads are not fenced: a standby's GETs are served too.
    const auto listed = read("SELECT count(*) FROM leader_lease");
    ASSERT_FALSE(listed.failure);
    EXPECT_EQ(db::cell(listed.results.at(0).get(), 0, 0), "1");
}

TEST_F(ReadDbFence, ASingleServerIsNotFenced) {
    take_over();  // a lease row of some other deployment's history
    const auto outcome = query("INSERT INTO districts (id, name) VALUES ('D-H', 'Single')");
    ASSERT_FALSE(outcome.failure) << outcome.failure->message;
    EXPECT_EQ(districts_named("D-H"), "1");
}

}  // namespace
}  // namespace huxiao::test
