// Contract 1.1: every JSON input has a nesting limit of 64; deeper input is a
// 400 / bad_frame, never a crash (issue #8 item 8). Against the real server.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

class BoundedJsonE2e : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
        admin_ = make_token("admin", "root");
    }
    void expect_server_up() {
        auto health = get("/healthz", "");
        EXPECT_EQ(health.status, 200) << server().log();
    }
    std::string admin_;
};

TEST_F(BoundedJsonE2e, HundredThousandDeepAdminBodyIs400AndTheServerStaysUp) {
    const std::string deep = R"({"id":"S-7","x":)" + nested_arrays(100'000) + "}";
    for (const char* target : {"/api/v1/schools", "/api/v1/tokens"}) {
        auto r = https_request(api_port(), certs_->server_ca(), "POST", target, admin_, deep);
        EXPECT_EQ(r.status, 400) << target << " " << r.body.substr(0, 200);
        EXPECT_EQ(r.json()["error"], "bad_body") << target;
        EXPECT_EQ(r.json()["message"], "the body: JSON nested deeper than 64 levels") << target;
    }
    auto put = https_request(api_port(), certs_->server_ca(), "PUT", "/api/v1/schools/S-7", admin_,
                             "{\"x\":" + std::string(200'000, '['));  // unterminated too
    EXPECT_EQ(put.status, 400) << put.body.substr(0, 200);
    expect_server_up();
    // A body at the limit is judged on its fields, as before.
    auto at_limit = https_request(api_port(), certs_->server_ca(), "POST", "/api/v1/schools",
                                  admin_, R"({"id":"S-7","x":)" + nested_arrays(63) + "}");
    EXPECT_EQ(at_limit.status, 400);
    EXPECT_EQ(at_limit.json()["error"], "bad_record") << at_limit.body;
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM schools WHERE id = 'S-7'"), "0");
}

TEST_F(BoundedJsonE2e, DeepTerminalFrameIsBadFrameAndTheSessionGoesOn) {
    auto t = hello("T-1");
    ASSERT_TRUE(t->send_line(R"({"type":"alarm","id":"A-1","kind":"fire","x":)" +
                             nested_arrays(1'000) + "}"));
    auto e = t->read_frame();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["type"], "error");
    EXPECT_EQ((*e)["code"], "bad_frame");
    EXPECT_EQ((*e)["message"], "frame holds JSON nested deeper than 64 levels");
    t->send({{"type", "heartbeat"}, {"seq", 5}});
    auto hb = t->read_frame_of_type("heartbeat_ack");
    ASSERT_TRUE(hb);
    EXPECT_EQ((*hb)["seq"], 5);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incidents"), "0");
}

TEST_F(BoundedJsonE2e, DeepUnitAndConsoleMessagesAreBadFrame) {
    const std::string unit_token = make_token("unit", "p1", "P-1");
    WsClient unit(api_port(), certs_->server_ca());
    ASSERT_TRUE(unit.connect("/ws/unit", unit_token));
    ASSERT_TRUE(unit.send_text(R"({"type":"position","lat":30.5,"lon":114.3,"x":)" +
                               nested_arrays(30'000) + "}"));
    auto ue = unit.read_type("error");
    ASSERT_TRUE(ue);
    EXPECT_EQ((*ue)["code"], "bad_frame");

    const std::string desk = make_token("auditor", "reader");
    WsClient console(api_port(), certs_->server_ca());
    ASSERT_TRUE(console.connect("/ws/console", desk));
    ASSERT_TRUE(console.read_type("snapshot"));
    ASSERT_TRUE(console.send_text(R"({"type":"snapshot","id":)" + nested_arrays(30'000) + "}"));
    auto ce = console.read_type("error");
    ASSERT_TRUE(ce);
    EXPECT_EQ((*ce)["code"], "bad_frame");
    EXPECT_TRUE((*ce)["ref"].is_null());
    // An id that is JSON but not a string or number is not echoed back.
    ASSERT_TRUE(console.send_text(R"({"type":"acknowledge","incident":"I-1","id":{"a":[1]}})"));
    auto forbidden = console.read_type("error");
    ASSERT_TRUE(forbidden);
    EXPECT_EQ((*forbidden)["ref"], "I-1");
    expect_server_up();
}

TEST_F(BoundedJsonE2e, DeepWebSocketAuthMessageIsUnauthorized) {
    WsClient ws(api_port(), certs_->server_ca());
    ASSERT_TRUE(ws.connect("/ws/console"));
    ASSERT_TRUE(ws.send_text(R"({"type":"auth","token":"x","x":)" + nested_arrays(30'000) + "}"));
    auto e = ws.read_type("error");
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "unauthorized");
    EXPECT_TRUE(ws.wait_closed());
    expect_server_up();
}

TEST_F(BoundedJsonE2e, DeepRegistryImportIsRefusedByTheCli) {
    std::ofstream(dir_ / "deep.json") << R"({"schools":)" + nested_arrays(100'000) + "}";
    auto r = run_huxiaod(
        {"import", "--config", (dir_ / "huxiao.json").string(), (dir_ / "deep.json").string()});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("JSON nested deeper than 64 levels"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace huxiao::test
