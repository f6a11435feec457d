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
#include <thread>

#include "server/db/lease_store.hpp"
#include "server/db/migrations.hpp"
#include "server/db/pg_connection.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

using namespace std::chrono_literals;

// A fresh database with the schema applied.
struct MigratedDatabase : TestDatabase {
    MigratedDatabase() {
        db::PgSync setup(url());
        db::apply_migrations(setup);
    }
};

// SIGCONT on the way out, whatever happens: a stopped backend must not outlive the test.
struct StoppedBackend {
    explicit StoppedBackend(int backend) : pid(backend) { stopped = ::kill(pid, SIGSTOP) == 0; }
    ~StoppedBackend() { ::kill(pid, SIGCONT); }
    int pid;
    bool stopped = false;
};

TEST(LeaseStore, ALeaseCallThatNobodyAnswersFailsInsteadOfWaitingForever) {
    MigratedDatabase database;
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
    MigratedDatabase database;
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
    MigratedDatabase database;
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

// A standby that hangs holds every synchronous commit until Patroni drops it;
// the leader's renewal must not be one of them, or the leader steps down
// (sql/017). Standbys named but absent hold commits the same way; the
// release, still synchronous, shows that they do.
TEST(LeaseStore, ARenewalCommitsWhileTheSynchronousStandbysHoldOtherCommits) {
    ThrowawayCluster cluster;
    db::PgSync c(cluster.url());
    db::apply_migrations(c);
    const auto epoch = db::acquire_lease(c, "a", 60s, "", "");
    ASSERT_TRUE(epoch);
    db::PgSync probe(cluster.url());
    probe.exec("CREATE TABLE probe (x integer)");
    db::PgSync admin("postgresql://postgres@127.0.0.1:" + std::to_string(cluster.port()) +
                     "/postgres");
    admin.exec("ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
    admin.exec("SELECT pg_reload_conf()");
    // The reload reaches the backends and the checkpointer (which tells them
    // standbys are defined) in their own time: once an insert is seen waiting
    // for a standby, every commit is held.
    const auto held = [&] {
        return db::cell(admin
                            .exec("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE wait_event = 'SyncRep'")
                            .get(),
                        0, 0) != "0";
    };
    const auto until = std::chrono::steady_clock::now() + 20s;
    bool sent = false;
    while (!held() && std::chrono::steady_clock::now() < until) {
        if (!sent) sent = PQsendQuery(probe.raw(), "INSERT INTO probe VALUES (1)") == 1;
        std::this_thread::sleep_for(50ms);
        if (sent && PQconsumeInput(probe.raw()) == 1 && !PQisBusy(probe.raw())) {
            // Committed before the standbys counted: try again.
            while (PGresult* r = PQgetResult(probe.raw())) PQclear(r);
            sent = false;
        }
    }
    ASSERT_TRUE(held()) << "commits are not held for the missing standby";

    // Held, it would find no answer within the deadline (the TTL) and throw.
    EXPECT_TRUE(db::renew_lease(c, "a", *epoch, 10s));
    EXPECT_THROW(db::release_lease(c, "a", *epoch), std::runtime_error);  // held: no answer in 2 s
}

// Fencing without stalling renewals (sql/015): a write batch past its fence
// holds a lock on the lease row until it commits. The holder's renewal (and
// release) must not wait for it: a renewal that queued behind the batches in
// flight could miss the leader's own step-down deadline on a loaded machine.
// A takeover must wait for it, and the batch's epoch must be dead afterwards.
// lock_timeout turns "would wait" into an error here, whatever the machine's
// speed: a statement that needs no lock never meets it.
TEST(LeaseStore, ARenewalDoesNotWaitForABatchPastItsFenceButATakeoverDoes) {
    MigratedDatabase database;
    db::PgSync leader(database.url());
    const auto epoch = db::acquire_lease(leader, "a", 60s, "", "");
    ASSERT_TRUE(epoch);
    const std::string e = std::to_string(*epoch);

    db::PgSync batch(database.url());
    batch.exec("BEGIN");
    batch.exec("SELECT huxiao_fence($1)", {e});  // as IncidentLog's batches begin

    leader.exec("SET lock_timeout = '2s'");
    bool renewed = false;
    EXPECT_NO_THROW(renewed = db::renew_lease(leader, "a", *epoch, 60s));
    EXPECT_TRUE(renewed);

    // A standby polling a lease that is still held does not queue behind the
    // batch either (its answer is simply "held").
    db::PgSync standby(database.url());
    standby.exec("SET lock_timeout = '1s'");
    std::optional<std::int64_t> early;
    EXPECT_NO_THROW(early = db::acquire_lease(standby, "b", 60s, "", ""));
    EXPECT_FALSE(early);

    EXPECT_NO_THROW(db::release_lease(leader, "a", *epoch));
    // The lease has run out, but the batch past its fence may still commit
    // under epoch a: the takeover waits for it (here: until lock_timeout).
    EXPECT_THROW(db::acquire_lease(standby, "b", 60s, "", ""), std::runtime_error);

    batch.exec("COMMIT");
    db::PgSync standby2(database.url());
    const auto next = db::acquire_lease(standby2, "b", 60s, "", "");
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, *epoch + 1);
    // Every later batch of the old epoch fails.
    batch.exec("BEGIN");
    EXPECT_THROW(batch.exec("SELECT huxiao_fence($1)", {e}), std::exception);
    batch.exec("ROLLBACK");
    EXPECT_NO_THROW(batch.exec("SELECT huxiao_fence($1)", {std::to_string(*next)}));
}

// A batch that reaches its fence while a takeover holds the row waits for the
// takeover, then finds the old epoch gone: it never commits after the new
// leader has read the open incidents.
TEST(LeaseStore, ABatchThatChecksDuringATakeoverFailsAfterIt) {
    MigratedDatabase database;
    db::PgSync leader(database.url());
    const auto epoch = db::acquire_lease(leader, "a", 60s, "", "");
    ASSERT_TRUE(epoch);
    db::release_lease(leader, "a", *epoch);

    db::PgSync standby(database.url());
    standby.exec("BEGIN");
    const auto next = db::acquire_lease(standby, "b", 60s, "", "");  // not committed yet
    ASSERT_TRUE(next);

    db::PgSync batch(database.url());
    batch.exec("SET lock_timeout = '1s'");
    batch.exec("BEGIN");
    // The takeover's row lock is held: the old epoch's check must wait.
    EXPECT_THROW(batch.exec("SELECT huxiao_fence($1)", {std::to_string(*epoch)}), std::exception);
    batch.exec("ROLLBACK");
    standby.exec("COMMIT");
    batch.exec("BEGIN");
    EXPECT_THROW(batch.exec("SELECT huxiao_fence($1)", {std::to_string(*epoch)}), std::exception);
    batch.exec("ROLLBACK");
}

}  // namespace
}  // namespace huxiao::test
