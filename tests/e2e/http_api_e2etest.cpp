// The HTTP API (contract §5) against a real server: health, readiness,
// metrics, authentication and roles, incidents with filters and paging,
// and an incident's timeline.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

class HttpApi : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
        dispatcher_ = make_token("dispatcher", "desk-1");
    }
    std::string raise(TerminalClient& t, const std::string& id, bool drill = false) {
        t.send({{"type", "alarm"}, {"id", id}, {"kind", "fire"}, {"drill", drill}});
        auto ack = t.read_frame_of_type("ack");
        if (!ack) throw std::runtime_error("no ack for " + id);
        return (*ack)["incident"];
    }
    std::string dispatcher_;
};

TEST_F(HttpApi, HealthAndReadinessNeedNoToken) {
    auto health = get("/healthz", "");
    EXPECT_EQ(health.status, 200);
    // Ready once the write and read pools have connected (just after start
    // they may still be connecting: 503 until then).
    HttpReply ready;
    EXPECT_TRUE(eventually([&] {
        ready = get("/readyz", "");
        if (ready.status != 200) {
            EXPECT_EQ(ready.status, 503) << ready.body;
        }
        return ready.status == 200;
    }));
    EXPECT_EQ(ready.status, 200) << ready.body;
    // A single server leads (contract §8's body, as a leader's).
    EXPECT_EQ(ready.json(), (nlohmann::json{{"status", "ready"}, {"role", "leader"}}));
}

TEST_F(HttpApi, MetricsAreInPrometheusFormat) {
    auto t = hello("T-1");
    raise(*t, "A-1");
    auto metrics = get("/metrics", "");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_EQ(metrics.headers["Content-Type"], "text/plain; version=0.0.4");
    EXPECT_NE(metrics.body.find("# TYPE huxiao_ack_latency_seconds histogram"), std::string::npos);
    EXPECT_NE(metrics.body.find("huxiao_alarms_acked_total 1\n"), std::string::npos)
        << metrics.body;
}

TEST_F(HttpApi, MissingOrWrongTokenIs401WithJsonError) {
    auto none = get("/api/v1/incidents", "");
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.json()["error"], "unauthorized");
    auto wrong = get("/api/v1/incidents", "hx_not-a-real-token");
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(wrong.json()["error"], "unauthorized");
}

TEST_F(HttpApi, WrongRoleIs403) {
    auto unit = make_token("unit", "p1", "P-1");
    auto r = get("/api/v1/incidents", unit);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.json()["error"], "forbidden");
}

TEST_F(HttpApi, BadParametersAre400NamingTheParameter) {
    auto bad_from = get("/api/v1/incidents?from=yesterday", dispatcher_);
    EXPECT_EQ(bad_from.status, 400);
    EXPECT_EQ(bad_from.json()["error"], "bad_parameter");
    EXPECT_EQ(bad_from.json()["message"].get<std::string>().rfind("from:", 0), 0u) << bad_from.body;
    auto bad_limit = get("/api/v1/incidents?limit=0", dispatcher_);
    EXPECT_EQ(bad_limit.status, 400);
    EXPECT_EQ(bad_limit.json()["message"].get<std::string>().rfind("limit:", 0), 0u);
    auto typo = get("/api/v1/incidents?schol=S-1", dispatcher_);
    EXPECT_EQ(typo.status, 400);
    EXPECT_EQ(typo.json()["message"].get<std::string>().rfind("schol:", 0), 0u);
    auto status = get("/api/v1/incidents?status=maybe", dispatcher_);
    EXPECT_EQ(status.status, 400);
    auto cursor = get("/api/v1/incidents?cursor=garbage", dispatcher_);
    EXPECT_EQ(cursor.status, 400);
    EXPECT_EQ(cursor.json()["message"].get<std::string>().rfind("cursor:", 0), 0u);
}

TEST_F(HttpApi, IncidentsArePagedNewestFirstWithFilters) {
    auto t1 = hello("T-1");
    auto t2 = hello("T-2");
    const auto a = raise(*t1, "A-1");
    const auto b = raise(*t2, "B-1");
    const auto c = raise(*t1, "A-2", /*drill=*/true);

    auto page1 = get("/api/v1/incidents?limit=2", dispatcher_);
    ASSERT_EQ(page1.status, 200) << page1.body;
    auto j1 = page1.json();
    ASSERT_EQ(j1["items"].size(), 2u);
    EXPECT_EQ(j1["items"][0]["id"], c);
    EXPECT_EQ(j1["items"][1]["id"], b);
    ASSERT_TRUE(j1["next_cursor"].is_string());
    auto page2 = get("/api/v1/incidents?limit=2&cursor=" + j1["next_cursor"].get<std::string>(),
                     dispatcher_);
    auto j2 = page2.json();
    ASSERT_EQ(j2["items"].size(), 1u) << page2.body;
    EXPECT_EQ(j2["items"][0]["id"], a);
    EXPECT_TRUE(j2["next_cursor"].is_null());

    auto s2 = get("/api/v1/incidents?school=S-2", dispatcher_).json();
    ASSERT_EQ(s2["items"].size(), 1u);
    EXPECT_EQ(s2["items"][0]["id"], b);
    EXPECT_EQ(s2["items"][0]["district"], "D-1");
    auto drills = get("/api/v1/incidents?drill=true", dispatcher_).json();
    ASSERT_EQ(drills["items"].size(), 1u);
    EXPECT_EQ(drills["items"][0]["drill"], true);
    auto future = get("/api/v1/incidents?from=2099-01-01T00:00:00Z", dispatcher_).json();
    EXPECT_EQ(future["items"].size(), 0u);
}

TEST_F(HttpApi, IncidentDetailHasItsTimeline) {
    auto t = hello("T-1");
    const auto id = raise(*t, "A-1");
    auto r = get("/api/v1/incidents/" + id, dispatcher_);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    EXPECT_EQ(j["id"], id);
    EXPECT_EQ(j["school"], "S-1");
    EXPECT_EQ(j["kind"], "fire");
    ASSERT_GE(j["timeline"].size(), 1u);
    EXPECT_EQ(j["timeline"][0]["type"], "alarm_received");
    EXPECT_EQ(j["timeline"][0]["actor"], "T-1");
    const std::string at = j["timeline"][0]["at"];
    EXPECT_EQ(at.size(), 27u) << at;  // microseconds: 2026-09-01T07:30:00.123456Z
    auto missing = get("/api/v1/incidents/I-nope", dispatcher_);
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.json()["error"], "not_found");
}

TEST_F(HttpApi, OversizedBodyIs413) {
    auto r = https_request(api_port(), certs_->server_ca(), "POST", "/api/v1/schools", dispatcher_,
                           std::string(2 << 20, 'x'));
    EXPECT_EQ(r.status, 413);
}

TEST_F(HttpApi, PerTokenRateLimitIs429) {
    int limited = 0;
    for (int i = 0; i < 80 && limited == 0; ++i) {
        auto r = get("/api/v1/incidents?limit=1", dispatcher_);
        if (r.status == 429) {
            ++limited;
            EXPECT_EQ(r.json()["error"], "rate_limited");
        } else {
            EXPECT_EQ(r.status, 200);
        }
    }
    EXPECT_EQ(limited, 1);
}

}  // namespace
}  // namespace huxiao::test
