// Clean shutdown (contract §1, issue #8 item 10, review M5): on SIGTERM an
// alarm whose commit is still in flight is acked once it commits, before its
// connection closes with a TLS close_notify; an alarm that arrives during the
// drain is answered `unavailable` and not recorded; the process exits 0.
#include <signal.h>

#include <thread>

#include "server/db/pg_connection.hpp"
#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

class Shutdown : public ServerTest {};

TEST_F(Shutdown, AnAlarmCommittedWhileDrainingIsStillAckedBeforeATlsClose) {
    // Long enough that the held-up alarm is not answered `unavailable` first.
    config()["database"]["alarm_commit_timeout_ms"] = 20000;
    start_server();
    auto t = hello("T-1");

    // Hold the alarm's commit: its insert waits for this lock.
    db::PgSync blocker(db_->url());
    blocker.exec("BEGIN");
    blocker.exec("LOCK TABLE terminal_events IN EXCLUSIVE MODE");
    ASSERT_TRUE(t->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "fire"}}));
    ASSERT_TRUE(eventually([&] {
        return db_->scalar(
                   "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = "
                   "l.relation WHERE c.relname = 'terminal_events' AND NOT l.granted") != "0";
    })) << "the alarm's insert never reached the database";

    ASSERT_EQ(::kill(server().pid(), SIGTERM), 0);
    ASSERT_TRUE(eventually([&] { return server().log().find("draining") != std::string::npos; }));

    // During the drain a new alarm is refused, not taken.
    ASSERT_TRUE(t->send({{"type", "alarm"}, {"id", "A-2"}, {"kind", "fire"}}));
    auto refused = t->read_frame_of_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "unavailable");
    EXPECT_EQ((*refused)["ref"], "A-2");

    blocker.exec("COMMIT");  // the first alarm commits now, while draining
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack) << server().log();
    EXPECT_EQ((*ack)["id"], "A-1");
    EXPECT_TRUE(t->wait_closed());
    EXPECT_TRUE(t->closed_cleanly()) << "no TLS close_notify before the close";
    EXPECT_EQ(server().terminate(), 0);

    // Never an ack without a row; nothing of the refused alarm.
    EXPECT_EQ(db_->scalar("SELECT incident_id FROM terminal_events WHERE event_id = 'A-1'"),
              (*ack)["incident"].get<std::string>());
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events WHERE event_id = 'A-2'"), "0");
}

}  // namespace
}  // namespace huxiao::test
