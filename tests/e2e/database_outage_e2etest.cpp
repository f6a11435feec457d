// The database goes away and comes back (contract §3 `unavailable`): no false
// ack while it is gone, recovery by itself when it returns, and no alarm lost
// or doubled. Runs on a PostgreSQL cluster of its own so that stopping it
// disturbs no other test.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

json alarm(const std::string& id) { return {{"type", "alarm"}, {"id", id}, {"kind", "intrusion"}}; }

std::string scalar(const std::string& url, const std::string& sql) {
    db::PgSync c(url);
    auto r = c.exec(sql);
    return db::cell(r.get(), 0, 0);
}

TEST(DatabaseOutage, AlarmsAreUnavailableWhileTheDatabaseIsDownAndRecordedOnceAfter) {
    ThrowawayCluster cluster;
    const auto dir = make_temp_dir("huxiao-outage");
    CertFactory certs(dir / "certs");
    auto cert = certs.terminal("T-1");
    json config = test_config(cluster.url(), certs);
    std::ofstream(dir / "huxiao.json") << config.dump(2);
    std::ofstream(dir / "registry.json") << kSmallRegistry;
    auto imported = run_huxiaod(
        {"import", "--config", (dir / "huxiao.json").string(), (dir / "registry.json").string()});
    ASSERT_EQ(imported.status, 0) << imported.err;

    auto made = run_huxiaod({"token", "create", "--config", (dir / "huxiao.json").string(),
                             "--role", "inspector", "--name", "insp"});
    ASSERT_EQ(made.status, 0) << made.err;
    const std::string token = made.out.substr(0, made.out.find('\n'));

    ServerProcess server(config, dir / "server");
    // The server forgets cached tokens whenever its change listener
    // (re)connects, the first time too (docs/security.md 1.5): wait for that,
    // then read once while the database is up, so that the token stays cached
    // through the outage and the read below reaches its handler.
    const std::string resynced = "registry reloaded after (re)connecting";
    ASSERT_TRUE(eventually([&] { return server.log().find(resynced) != std::string::npos; },
                           std::chrono::seconds(20)))
        << server.log();
    auto before =
        https_request(server.api_port(), certs.server_ca(), "GET", "/api/v1/hazards", token);
    ASSERT_EQ(before.status, 200) << before.body;
    TerminalClient t(server.terminal_port(), &cert, certs.server_ca());
    t.connect_and_hello("T-1");
    t.send(alarm("A-1"));
    auto first = t.read_frame_of_type("ack");
    ASSERT_TRUE(first);

    cluster.stop();
    // While the database is down an alarm is answered `unavailable`, never acked.
    t.send(alarm("A-2"));
    auto refused = t.read_frame_of_type("error", std::chrono::seconds(20));
    ASSERT_TRUE(refused) << server.log();
    EXPECT_EQ((*refused)["type"], "error");
    EXPECT_EQ((*refused)["code"], "unavailable");
    EXPECT_EQ((*refused)["ref"], "A-2");
    // The connection stays open after `unavailable`.
    t.send({{"type", "heartbeat"}, {"seq", 7}});
    auto hb = t.read_frame_of_type("heartbeat_ack");
    ASSERT_TRUE(hb);
    // An API read meanwhile: 503 `unavailable` with a request id to quote,
    // from the one mapping of database errors (ApiRouter::database_error);
    // PostgreSQL's own words go to the log, never to the client.
    auto during =
        https_request(server.api_port(), certs.server_ca(), "GET", "/api/v1/hazards", token);
    EXPECT_EQ(during.status, 503) << during.body;
    EXPECT_EQ(during.json()["error"], "unavailable") << during.body;
    ASSERT_TRUE(during.json().contains("request_id")) << during.body;
    EXPECT_NE(during.json()["message"].get<std::string>().find(
                  during.json()["request_id"].get<std::string>()),
              std::string::npos)
        << during.body;
    EXPECT_EQ(during.body.find("database:"), std::string::npos) << during.body;
    EXPECT_NE(server.log().find("request " + during.json()["request_id"].get<std::string>()),
              std::string::npos)
        << server.log();

    cluster.start();
    // The terminal retries the same id until it is acked; the server
    // reconnects by itself.
    std::optional<json> ack;
    for (int attempt = 0; attempt < 60 && !ack; ++attempt) {
        t.send(alarm("A-2"));
        std::optional<json> answer;
        do {  // status pushes (dispatching goes on without the database) are not the answer
            answer = t.read_frame(std::chrono::seconds(10));
        } while (answer && (*answer)["type"] == "status");
        ASSERT_TRUE(answer) << server.log();
        if ((*answer)["type"] == "ack") {
            ack = answer;
        } else {
            ASSERT_EQ((*answer)["code"], "unavailable") << answer->dump();
            std::this_thread::sleep_for(
                std::chrono::milliseconds(250));  // a terminal's retry pause
        }
    }
    ASSERT_TRUE(ack) << server.log();
    EXPECT_EQ((*ack)["id"], "A-2");
    // Same school, within the repeat window: it joined the first incident.
    EXPECT_EQ((*ack)["incident"], (*first)["incident"]);
    EXPECT_EQ(scalar(cluster.url(), "SELECT count(*) FROM terminal_events WHERE event_id = 'A-2'"),
              "1");
    EXPECT_EQ(scalar(cluster.url(), "SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(scalar(cluster.url(),
                     "SELECT string_agg(type, ',' ORDER BY seq) FROM incident_events "
                     "WHERE type IN ('alarm_received', 'repeat_alarm')"),
              "alarm_received,repeat_alarm");
    // What dispatching decided while the database was away was recorded after.
    EXPECT_EQ(scalar(cluster.url(),
                     "SELECT count(*) FROM incident_events WHERE type = 'no_unit_available'"),
              "1");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace huxiao::test
