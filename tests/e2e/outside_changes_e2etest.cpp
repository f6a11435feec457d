// Contract 1.1, "revocation is immediate", for changes made outside the
// running server: an operator's SQL or `huxiaod import` reaches the open
// sessions through sql/011's notices and server/db/change_listener, as an
// admin API write does (tests/e2e/console_security_e2etest.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

class OutsideChanges : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
    }
};

TEST_F(OutsideChanges, ATokenRevokedInSqlClosesItsOpenConsoleAndOpensNoOther) {
    const std::string token = make_token("dispatcher", "desk-7");
    auto doomed = console(token);
    ASSERT_TRUE(doomed->read_type("snapshot"));
    auto other = console(make_token("dispatcher", "desk-8"));
    ASSERT_TRUE(other->read_type("snapshot"));

    EXPECT_EQ(db_->column("UPDATE api_tokens SET revoked_at = now() WHERE name = 'desk-7' "
                          "RETURNING name"),
              std::vector<std::string>{"desk-7"});
    ASSERT_TRUE(doomed->wait_closed()) << server().log();
    EXPECT_EQ(doomed->close_code(), 4001);
    EXPECT_EQ(doomed->close_reason(), "revoked");

    // The other console is untouched.
    other->send({{"type", "snapshot"}});
    EXPECT_TRUE(other->read_type("snapshot"));
    // The token opens nothing more (its cache entry went with the notice).
    auto again = console(token);
    auto refused = again->read_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "unauthorized");
}

TEST_F(OutsideChanges, ATokenDeletedInSqlClosesItsUnitSession) {
    auto p1 = unit(make_token("unit", "patrol-1", "P-1"));
    EXPECT_EQ(db_->column("DELETE FROM api_tokens WHERE name = 'patrol-1' RETURNING name"),
              std::vector<std::string>{"patrol-1"});
    ASSERT_TRUE(p1->wait_closed()) << server().log();
    EXPECT_EQ(p1->close_code(), 4001);
}

TEST_F(OutsideChanges, ATokenRevokedWithTheCliClosesItsSessionsAtOnce) {
    auto p1 = unit(make_token("unit", "patrol-1", "P-1"));
    auto r = run_huxiaod(
        {"token", "revoke", "--config", (dir_ / "huxiao.json").string(), "--name", "patrol-1"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "revoked patrol-1\n");
    ASSERT_TRUE(p1->wait_closed()) << server().log();
    EXPECT_EQ(p1->close_code(), 4001);

    // Twice, or a name that never was: a clear refusal, exit status 1.
    auto again = run_huxiaod(
        {"token", "revoke", "--config", (dir_ / "huxiao.json").string(), "--name", "patrol-1"});
    EXPECT_EQ(again.status, 1);
    EXPECT_EQ(again.err, "huxiaod: no active token named \"patrol-1\"\n");
}

TEST_F(OutsideChanges, AUnitDisabledInSqlLosesItsSession) {
    auto p1 = unit(make_token("unit", "patrol-1", "P-1"));
    EXPECT_EQ(db_->column("UPDATE units SET enabled = false WHERE id = 'P-1' RETURNING id"),
              std::vector<std::string>{"P-1"});
    ASSERT_TRUE(p1->wait_closed()) << server().log();
    EXPECT_EQ(p1->close_code(), 4001);
}

TEST_F(OutsideChanges, ATerminalDisabledByImportLosesItsSessionAndTheOtherStays) {
    auto t1 = hello("T-1");
    auto t1b = hello("T-1B");
    std::ofstream(dir_ / "disable.json")
        << R"json({"terminals": [{"id": "T-1", "school": "S-1", "enabled": false}]})json";
    auto r = run_huxiaod(
        {"import", "--config", (dir_ / "huxiao.json").string(), (dir_ / "disable.json").string()});
    ASSERT_EQ(r.status, 0) << r.err;

    auto error = t1->read_frame_of_type("error");
    ASSERT_TRUE(error) << server().log();
    EXPECT_EQ((*error)["code"], "unknown_terminal");
    EXPECT_TRUE(t1->wait_closed());
    // T-1B of the same school goes on.
    t1b->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "medical"}});
    EXPECT_TRUE(t1b->read_frame_of_type("ack"));
}

// The server writes terminals.last_seen_at with every heartbeat; that is not
// a registry change (sql/011 watches only the columns the registry reads), so
// it must not reload the registry of a province every 30 s per terminal.
TEST_F(OutsideChanges, HeartbeatsDoNotReloadTheRegistry) {
    auto t1 = hello("T-1");
    for (int i = 0; i < 3; ++i) {
        t1->send({{"type", "heartbeat"}, {"seq", i}});
        ASSERT_TRUE(t1->read_frame_of_type("heartbeat_ack")) << server().log();
    }
    ASSERT_TRUE(eventually([&] {
        return db_->scalar("SELECT last_seen_at IS NOT NULL FROM terminals WHERE id = 'T-1'") ==
               "t";
    }));
    // Notices arrive in commit order: once the reload for this later change
    // is logged, one for the heartbeats' writes would have been logged before.
    EXPECT_EQ(db_->column("UPDATE districts SET name = name WHERE id = 'D-1' RETURNING id"),
              std::vector<std::string>{"D-1"});
    ASSERT_TRUE(eventually([&] {
        return server().log().find("registry reloaded after a change of districts") !=
               std::string::npos;
    })) << server().log();
    EXPECT_EQ(server().log().find("after a change of terminals"), std::string::npos)
        << server().log();
}

}  // namespace
}  // namespace huxiao::test
