// Backups with PostgreSQL's own tools (docs/operations.md, "Backup and
// restore"): a pg_dump taken while huxiaod runs and writes, restored into a
// fresh cluster, serves again — the incident with its timeline, the tokens,
// and the idempotency of alarms (a retransmission of an alarm acked before
// the dump gets the same incident from the restored server).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

const char* const kPgBin = "/usr/lib/postgresql/15/bin";

// Runs a command line built only from test-controlled values (URLs of the
// test clusters, temporary paths).
int run(const std::string& command) { return std::system(command.c_str()); }

class BackupRestore : public ServerTest {};

TEST_F(BackupRestore, ADumpOfARunningServerRestoresIntoAFreshClusterAndServes) {
    start_server();
    const std::string token = make_token("dispatcher", "desk-backup");
    auto t = hello("T-1");
    t->send({{"type", "alarm"}, {"id", "A-before-dump"}, {"kind", "intrusion"}});
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    const std::string incident = (*ack)["incident"];

    // The dump is taken while the server keeps running (pg_dump reads one
    // consistent snapshot); the terminal keeps heartbeating meanwhile.
    const auto dump = dir_ / "huxiao.dump";
    t->send({{"type", "heartbeat"}, {"seq", 1}});
    ASSERT_EQ(run(std::string(kPgBin) + "/pg_dump --format=custom --file='" + dump.string() +
                  "' '" + db_->url() + "'"),
              0);
    ASSERT_TRUE(t->read_frame_of_type("heartbeat_ack"));
    server().terminate();

    // A fresh cluster with the application role and an empty database.
    ThrowawayCluster fresh;
    ASSERT_EQ(run(std::string(kPgBin) + "/pg_restore --no-owner --exit-on-error --dbname='" +
                  fresh.url() + "' '" + dump.string() + "'"),
              0);

    config()["database"]["url"] = fresh.url();
    start_server();
    // The token made before the dump still works: the restored server reads
    // the same api_tokens.
    auto detail = get("/api/v1/incidents/" + incident, token);
    ASSERT_EQ(detail.status, 200) << detail.body;
    const json body = json::parse(detail.body);
    EXPECT_EQ(body["id"], incident);
    ASSERT_TRUE(body["timeline"].is_array());
    EXPECT_EQ(body["timeline"][0]["type"], "alarm_received");

    // The alarm acked before the dump is known to the restored database.
    auto again = hello("T-1");
    again->send({{"type", "alarm"}, {"id", "A-before-dump"}, {"kind", "intrusion"}});
    auto second = again->read_frame_of_type("ack");
    ASSERT_TRUE(second);
    EXPECT_EQ((*second)["incident"], incident);
    db::PgSync check(fresh.url());
    auto rows = check.exec("SELECT count(*) FROM incidents");
    EXPECT_EQ(db::cell(rows.get(), 0, 0), "1");
}

}  // namespace
}  // namespace huxiao::test
