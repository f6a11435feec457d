// Terminal supervision end to end: a terminal that stops sending heartbeats
// is noticed, recorded, reported to consoles and by /api/v1/terminals.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

class Supervision : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        // Offline after 2 s without a frame.
        config()["supervision"] = {{"heartbeat_s", 1}, {"missed_heartbeats", 2}};
        start_server();
        dispatcher_ = make_token("dispatcher", "desk");
    }
    std::string dispatcher_;
};

TEST_F(Supervision, SilentTerminalIsReportedOfflineAndComesBackOnline) {
    WsClient console(api_port(), certs_->server_ca());
    ASSERT_TRUE(console.connect("/ws/console", dispatcher_));
    ASSERT_TRUE(console.read_type("snapshot"));

    auto t = hello("T-1");
    auto online = console.read_type("terminal");
    ASSERT_TRUE(online);
    EXPECT_EQ((*online)["terminal"], "T-1");
    EXPECT_EQ((*online)["school"], "S-1");
    EXPECT_EQ((*online)["online"], true);

    // The terminal goes silent: no heartbeats.
    auto offline = console.read_type("terminal", std::chrono::seconds(15));
    ASSERT_TRUE(offline);
    EXPECT_EQ((*offline)["terminal"], "T-1");
    EXPECT_EQ((*offline)["online"], false);
    EXPECT_TRUE(t->wait_closed());

    // Recorded, and reported by the API.
    std::vector<std::string> rows;
    for (int i = 0; i < 100 && rows.size() < 2; ++i) {
        rows = db_->column(
            "SELECT online::text FROM terminal_status_events WHERE terminal_id = 'T-1' ORDER BY "
            "seq");
        if (rows.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(rows, (std::vector<std::string>{"true", "false"}));
    auto listed = get("/api/v1/terminals?status=offline", dispatcher_);
    ASSERT_EQ(listed.status, 200) << listed.body;
    auto items = listed.json()["items"];
    bool found = false;
    for (const auto& item : items) {
        EXPECT_EQ(item["online"], false);
        if (item["id"] == "T-1") {
            found = true;
            EXPECT_EQ(item["school"], "S-1");
            EXPECT_TRUE(item["last_seen"].is_string());
            // Online for a few seconds of a 30-day default range.
            EXPECT_GE(item["availability_pct"].get<double>(), 0.0);
            EXPECT_LT(item["availability_pct"].get<double>(), 1.0);
        }
    }
    EXPECT_TRUE(found) << listed.body;

    auto back = hello("T-1");
    auto again = console.read_type("terminal");
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)["online"], true);
}

TEST_F(Supervision, AvailabilityOverAKnownRangeIsTheOnlineShare) {
    // Two hours: online 00:00-01:00, offline 01:00-01:30, online again after.
    db_->column(
        "INSERT INTO terminal_status_events (terminal_id, at, online) VALUES "
        "('T-2', '2026-03-01T00:00:00Z', true), ('T-2', '2026-03-01T01:00:00Z', false), "
        "('T-2', '2026-03-01T01:30:00Z', true) RETURNING seq");
    auto r = get("/api/v1/terminals?from=2026-03-01T00:00:00Z&to=2026-03-01T02:00:00Z&school=S-2",
                 dispatcher_);
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = r.json();
    for (const auto& item : body["items"]) {
        if (item["id"] == "T-2") {
            EXPECT_DOUBLE_EQ(item["availability_pct"].get<double>(), 75.0);
            EXPECT_EQ(item["online"], true);
        } else {
            EXPECT_DOUBLE_EQ(item["availability_pct"].get<double>(), 0.0) << item.dump();
        }
    }
    auto bad = get("/api/v1/terminals?status=sleepy", dispatcher_);
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.json()["message"].get<std::string>().rfind("status:", 0), 0u);
    auto backwards =
        get("/api/v1/terminals?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", dispatcher_);
    EXPECT_EQ(backwards.status, 400);
}

}  // namespace
}  // namespace huxiao::test
