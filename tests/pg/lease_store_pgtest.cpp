// The lease's statements against a PostgreSQL that stops answering
// (docs/availability.md §6): a backend stopped with SIGSTOP keeps its TCP
// connection (the kernel still acknowledges), so statement_timeout never
// fires and only a deadline of our own ends the wait. Without it the
// leadership thread would hang: a standby could never take over and a
// SIGTERM could never finish (found by bench/ha/soak.sh's pg-pause).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <stdexcept>

#include "server/db/lease_store.hpp"
#include "server/db/migrations.hpp"
#include "server/db/pg_connection.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

using namespace std::chrono_literals;

// SIGCONT on the way out, whatever happens: a stopped backend must not outlive the test.
struct StoppedBackend {
    explicit StoppedBackend(int backend) : pid(backend) { stopped = ::kill(pid, SIGSTOP) == 0; }
    ~StoppedBackend() { ::kill(pid, SIGCONT); }
    int pid;
    bool stopped = false;
};

TEST(LeaseStore, ALeaseCallThatNobodyAnswersFailsInsteadOfWaitingForever) {
    TestDatabase database;
    {
        db::PgSync setup(database.url());
        db::apply_migrations(setup);
    }
    db::PgSync c(database.url());
    const auto epoch = db::acquire_lease(c, "a", 60s, "", "");
    ASSERT_TRUE(epoch);
    const int backend = std::stoi(db::cell(c.exec("SELECT pg_backend_pid()").get(), 0, 0));

    StoppedBackend paused(backend);
    ASSERT_TRUE(paused.stopped)
        << "cannot stop the backend (the test must run as root or postgres)";
    EXPECT_THROW(db::renew_lease(c, "a", *epoch, 500ms), std::runtime_error);
    EXPECT_THROW(db::lease_holder(c), std::runtime_error);  // the connection is gone
}

TEST(LeaseStore, AnAnsweredRenewalStillWorks) {
    TestDatabase database;
    {
        db::PgSync setup(database.url());
        db::apply_migrations(setup);
    }
    db::PgSync c(database.url());
    const auto epoch = db::acquire_lease(c, "a", 60s, "127.0.0.1:1", "127.0.0.1:2");
    ASSERT_TRUE(epoch);
    EXPECT_TRUE(db::renew_lease(c, "a", *epoch, 60s));
    EXPECT_FALSE(db::renew_lease(c, "b", *epoch, 60s));
    const auto holder = db::lease_holder(c);
    ASSERT_TRUE(holder);
    EXPECT_EQ(holder->node, "a");
    EXPECT_EQ(holder->advertise_terminal, "127.0.0.1:1");
    EXPECT_FALSE(holder->expired);
    // What is left of the 60 s renewed just now, by the database's clock.
    EXPECT_GT(holder->remaining, 0ms);
    EXPECT_LE(holder->remaining, 60s);
}

TEST(LeaseStore, AReleasedLeaseHasNothingLeftAndAnotherNodeTakesIt) {
    TestDatabase database;
    {
        db::PgSync setup(database.url());
        db::apply_migrations(setup);
    }
    db::PgSync c(database.url());
    const auto epoch = db::acquire_lease(c, "a", 60s, "", "");
    ASSERT_TRUE(epoch);
    EXPECT_FALSE(db::acquire_lease(c, "b", 60s, "", ""));  // still a's
    db::release_lease(c, "a", *epoch);
    const auto holder = db::lease_holder(c);
    ASSERT_TRUE(holder);
    EXPECT_EQ(holder->node, "a");
    EXPECT_TRUE(holder->expired);
    EXPECT_EQ(holder->remaining, 0ms);
    const auto next = db::acquire_lease(c, "b", 60s, "", "");
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, *epoch + 1);
}

}  // namespace
}  // namespace huxiao::test
