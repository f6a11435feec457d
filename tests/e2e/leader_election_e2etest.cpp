// Several servers, one leader (contract §8; docs/availability.md): two
// huxiaod on one database. One takes the lease and serves; the other stands
// by (no terminal port, WebSocket upgrades and writes 503, /readyz naming
// the leader) and takes over when the leader dies, is paused past its lease
// (then fenced in the database: it acks nothing more and starts over as a
// standby), or stops with SIGTERM (hand-over without waiting for the TTL).
// An alarm acked before a failover keeps its incident after it.
#include <signal.h>

#include <fstream>

#include "tests/support/fixtures.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

// A takeover waits out a lease: up to 20 s.
template <typename F>
bool soon(F pred) {
    return eventually(pred, std::chrono::seconds(20), std::chrono::milliseconds(50));
}

struct Node {
    std::string name;
    int terminal_port = 0;
    int api_port = 0;
    std::unique_ptr<ServerProcess> process;
    std::string terminal_address() const { return "127.0.0.1:" + std::to_string(terminal_port); }
    std::string api_address() const { return "127.0.0.1:" + std::to_string(api_port); }
};

class LeaderElection : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        for (const char* name : {"a", "b"})
            nodes_[name] = Node{name, free_tcp_port(), free_tcp_port(), {}};
    }
    void TearDown() override {
        for (auto& [name, node] : nodes_) {
            if (!node.process) continue;
            ::kill(node.process->pid(), SIGCONT);  // a paused node must be able to die
            if (HasFailure())
                std::fprintf(stderr, "--- node %s:\n%s\n", name.c_str(),
                             node.process->log().c_str());
            node.process.reset();
        }
        ServerTest::TearDown();
    }

    Node& start_node(const std::string& name, int lease_ttl_s = 2) {
        Node& n = nodes_.at(name);
        nlohmann::json c = config();
        c["terminal_listener"]["port"] = n.terminal_port;
        c["api_listener"]["port"] = n.api_port;
        c["ha"] = {{"enabled", true},
                   {"node", name},
                   {"lease_ttl_s", lease_ttl_s},
                   {"advertise_terminal", n.terminal_address()},
                   {"advertise_api", n.api_address()}};
        n.process = std::make_unique<ServerProcess>(c, dir_ / ("node-" + name), 0, true);
        return n;
    }

    // Status 0 while the port is closed (a node restarting as a standby).
    HttpReply readyz(const Node& n) {
        try {
            return https_request(n.api_port, certs_->server_ca(), "GET", "/readyz");
        } catch (const std::exception&) {
            return {};
        }
    }
    bool leads(const Node& n) {
        const HttpReply r = readyz(n);
        return r.status == 200 &&
               r.json() == nlohmann::json{{"status", "ready"}, {"role", "leader"}};
    }
    bool stands_by_for(const Node& n, const Node& leader) {
        const HttpReply r = readyz(n);
        const nlohmann::json expected{{"status", "standby"},
                                      {"leader",
                                       {{"node", leader.name},
                                        {"terminal", leader.terminal_address()},
                                        {"api", leader.api_address()}}}};
        return r.status == 503 && r.json() == expected;
    }
    std::unique_ptr<TerminalClient> terminal_at(const Node& n, const std::string& terminal) {
        return std::make_unique<TerminalClient>(n.terminal_port, &terminal_certs_.at(terminal),
                                                certs_->server_ca());
    }
    std::unique_ptr<TerminalClient> hello_at(const Node& n, const std::string& terminal) {
        auto c = terminal_at(n, terminal);
        c->connect_and_hello(terminal);
        return c;
    }
    // The incident of an acked alarm.
    std::string raise(TerminalClient& t, const std::string& id) {
        if (!t.send({{"type", "alarm"}, {"id", id}, {"kind", "intrusion"}})) return "";
        auto ack = t.read_frame_of_type("ack");
        return ack ? (*ack)["incident"].get<std::string>() : "";
    }

    std::map<std::string, Node> nodes_;
};

TEST_F(LeaderElection, OneLeadsAndTheOtherStandsByAsTheContractSays) {
    Node& a = start_node("a");
    ASSERT_TRUE(eventually([&] { return leads(a); })) << a.process->log();
    Node& b = start_node("b");
    ASSERT_TRUE(eventually([&] { return stands_by_for(b, a); })) << readyz(b).body;

    // The standby: alive, no terminal port, no WebSocket, reads only.
    EXPECT_EQ(https_request(b.api_port, certs_->server_ca(), "GET", "/healthz").status, 200);
    std::string error;
    EXPECT_FALSE(terminal_at(b, "T-1")->connect(&error)) << "a standby's terminal port is open";
    const std::string token = make_token("dispatcher", "desk");
    WsClient ws(b.api_port, certs_->server_ca());
    EXPECT_FALSE(ws.connect("/ws/console"));
    EXPECT_EQ(ws.upgrade_status(), 503);
    EXPECT_EQ(
        https_request(b.api_port, certs_->server_ca(), "GET", "/api/v1/incidents", token).status,
        200);
    const std::string admin = make_token("admin", "root");
    const HttpReply write =
        https_request(b.api_port, certs_->server_ca(), "POST", "/api/v1/units", admin,
                      R"({"id":"P-9","district":"D-1","lat":30.5,"lon":114.3})");
    EXPECT_EQ(write.status, 503) << write.body;
    EXPECT_EQ(write.json()["error"], "unavailable");
    EXPECT_NE(write.body.find(a.api_address()), std::string::npos) << write.body;

    // The leader serves terminals and consoles.
    auto t = hello_at(a, "T-1");
    EXPECT_FALSE(raise(*t, "A-1").empty());
    WsClient leader_ws(a.api_port, certs_->server_ca());
    EXPECT_TRUE(leader_ws.connect("/ws/console"));
    EXPECT_EQ(leader_ws.upgrade_status(), 101);
}

TEST_F(LeaderElection, AStandbyTakesOverFromAKilledLeaderAndAnAckedAlarmKeepsItsIncident) {
    Node& a = start_node("a");
    ASSERT_TRUE(eventually([&] { return leads(a); }));
    Node& b = start_node("b");
    ASSERT_TRUE(eventually([&] { return stands_by_for(b, a); }));
    std::string incident;
    {
        auto t = hello_at(a, "T-1");
        incident = raise(*t, "A-1");
        ASSERT_FALSE(incident.empty());
    }
    a.process->kill_hard();

    ASSERT_TRUE(eventually([&] { return leads(b); })) << b.process->log();
    auto t = hello_at(b, "T-1");
    // The terminal's retransmission after the failover: the same incident.
    EXPECT_EQ(raise(*t, "A-1"), incident);
    EXPECT_FALSE(raise(*t, "A-2").empty());
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events WHERE event_id = 'A-1'"), "1");
    EXPECT_EQ(db_->scalar("SELECT holder FROM leader_lease"), "b");
    EXPECT_EQ(db_->scalar("SELECT epoch FROM leader_lease"), "2");
    // Every timeline event names the epoch of the leader that wrote it, and
    // within an incident's timeline the epochs never go back.
    EXPECT_TRUE(eventually([&] {
        return db_->scalar("SELECT count(*) FROM incident_events WHERE epoch = 2") != "0";
    }));
    EXPECT_NE(db_->scalar("SELECT count(*) FROM incident_events WHERE epoch = 1"), "0");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incident_events WHERE epoch IS NULL"), "0");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM (SELECT epoch < lag(epoch) OVER (PARTITION BY "
                          "incident_id ORDER BY seq) AS back FROM incident_events) e WHERE back"),
              "0");

    // The old leader, started again, stands by for the new one.
    start_node("a");
    EXPECT_TRUE(eventually([&] { return stands_by_for(a, b); })) << readyz(a).body;
}

TEST_F(LeaderElection, ALeaderPausedPastItsLeaseAcksNothingMoreAndStartsOverAsAStandby) {
    Node& a = start_node("a");
    ASSERT_TRUE(eventually([&] { return leads(a); }));
    Node& b = start_node("b");
    ASSERT_TRUE(eventually([&] { return stands_by_for(b, a); }));
    auto t = hello_at(a, "T-1");
    ASSERT_FALSE(raise(*t, "A-1").empty());

    ASSERT_EQ(::kill(a.process->pid(), SIGSTOP), 0);
    ASSERT_TRUE(eventually([&] { return leads(b); })) << b.process->log();
    // Sent to the paused old leader: it reads it only after SIGCONT.
    ASSERT_TRUE(t->send({{"type", "alarm"}, {"id", "A-2"}, {"kind", "fire"}}));
    ASSERT_EQ(::kill(a.process->pid(), SIGCONT), 0);

    // No ack: an `unavailable` error, or the connection ends with the restart.
    bool acked = false;
    while (auto frame = t->read_frame(std::chrono::seconds(5))) {
        if ((*frame)["type"] == "ack") acked = true;
    }
    EXPECT_FALSE(acked) << "the fenced leader acked an alarm";
    EXPECT_TRUE(eventually([&] { return stands_by_for(a, b); })) << a.process->log();
    EXPECT_NE(a.process->log().find("restarting as a standby"), std::string::npos);
    // Nothing written under the old epoch after the takeover; the terminal's
    // retry to the new leader records the alarm once.
    auto again = hello_at(b, "T-1");
    EXPECT_FALSE(raise(*again, "A-2").empty());
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events WHERE event_id = 'A-2'"), "1");
}

TEST_F(LeaderElection, SigtermOnTheLeaderHandsTheLeaseOverWithoutWaitingForItToExpire) {
    // A lease far longer than eventually()'s patience: only a release can
    // let the standby lead in time.
    Node& a = start_node("a", 60);
    ASSERT_TRUE(eventually([&] { return leads(a); }));
    Node& b = start_node("b", 60);
    ASSERT_TRUE(eventually([&] { return stands_by_for(b, a); }));
    EXPECT_EQ(a.process->terminate(), 0);
    EXPECT_TRUE(eventually([&] { return leads(b); })) << b.process->log();
    EXPECT_NE(a.process->log().find("released the lease of epoch 1"), std::string::npos)
        << a.process->log();
}

// Without its database no server can lead: the leader steps down by its own
// clock (and restarts as a standby, which waits for the database instead of
// exiting), and leads again when the database is back.
TEST(LeaderElectionOutage, ALeaderThatLosesTheDatabaseStepsDownWaitsAndLeadsAgain) {
    ThrowawayCluster cluster;
    const auto dir = make_temp_dir("huxiao-ha-outage");
    CertFactory certs(dir / "certs");
    auto cert = certs.terminal("T-1");
    nlohmann::json config = test_config(cluster.url(), certs);
    const int terminal_port = free_tcp_port();
    config["terminal_listener"]["port"] = terminal_port;
    config["api_listener"]["port"] = free_tcp_port();
    config["ha"] = {{"enabled", true}, {"node", "a"}, {"lease_ttl_s", 2}};
    std::ofstream(dir / "huxiao.json") << config.dump(2);
    std::ofstream(dir / "registry.json") << kSmallRegistry;
    auto imported = run_huxiaod(
        {"import", "--config", (dir / "huxiao.json").string(), (dir / "registry.json").string()});
    ASSERT_EQ(imported.status, 0) << imported.err;
    ServerProcess server(config, dir / "server", 0, true);
    const int api_port = config["api_listener"]["port"].get<int>();
    const auto leads = [&] {
        try {
            return https_request(api_port, certs.server_ca(), "GET", "/readyz").status == 200;
        } catch (const std::exception&) {
            return false;
        }
    };
    ASSERT_TRUE(soon(leads)) << server.log();
    TerminalClient before(terminal_port, &cert, certs.server_ca());
    before.connect_and_hello("T-1");

    cluster.stop();
    EXPECT_TRUE(soon([&] {
        return server.log().find("restarting as a standby") != std::string::npos;
    })) << server.log();
    EXPECT_TRUE(before.wait_closed()) << "the old leader's terminal sessions stay open";
    EXPECT_TRUE(soon([&] {
        return server.log().find("waiting for the database") != std::string::npos;
    })) << server.log();
    EXPECT_EQ(::kill(server.pid(), 0), 0) << "the stepped-down server exited";

    cluster.start();
    ASSERT_TRUE(soon(leads)) << server.log();
    TerminalClient after(terminal_port, &cert, certs.server_ca());
    after.connect_and_hello("T-1");
    ASSERT_TRUE(after.send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "fire"}}));
    EXPECT_TRUE(after.read_frame_of_type("ack")) << server.log();
    std::error_code ec;
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace huxiao::test

namespace huxiao::test {
namespace {

// Contract §8: lists and reports read through database.read_url (here the
// same database under another application name, so that its connections
// can be told apart); writes never do.
class ReadUrl : public ServerTest {};

TEST_F(ReadUrl, ListsAndReportsUseTheReadUrlAndWritesDoNot) {
    const std::string url = db_->url();
    config()["database"]["read_url"] =
        url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=huxiao-reads";
    start_server();
    const std::string token = make_token("auditor", "audit");
    const std::string count_reads =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'huxiao-reads' "
        "AND datname = current_database()";
    // Each read connection logs its statements once it has run one.
    ASSERT_EQ(get("/api/v1/incidents", token).status, 200);
    ASSERT_EQ(get("/api/v1/reports/"
                  "response-times?from=2026-03-10T00:00:00%2B08:00&to=2026-03-11T00:00:00%2B08:00&"
                  "group_by=district",
                  token)
                  .status,
              200);
    EXPECT_TRUE(eventually([&] { return db_->scalar(count_reads) != "0"; }));
    const std::string reads_query =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'huxiao-reads' "
        "AND datname = current_database() AND query LIKE '%incidents%'";
    EXPECT_NE(db_->scalar(reads_query), "0");
    // Alarms are written by the server's own connections.
    auto t = hello("T-1");
    ASSERT_TRUE(t->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "fire"}}));
    ASSERT_TRUE(t->read_frame_of_type("ack"));
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'huxiao-reads' AND query LIKE '%huxiao_record_alarm%'"),
              "0");
}

}  // namespace
}  // namespace huxiao::test
