// /ws/console (contract §4): snapshot, live events, commands with ok/error,
// read-only roles and district limits.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

class Console : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
        dispatcher_ = make_token("dispatcher", "desk-7");
    }
    std::string dispatcher_;
};

TEST_F(Console, SnapshotThenLiveEventsAndCommandsAnsweredWithTheirRef) {
    auto c = console(dispatcher_);
    auto snap = c->read_type("snapshot");
    ASSERT_TRUE(snap);
    EXPECT_EQ((*snap)["you"]["name"], "desk-7");
    EXPECT_EQ((*snap)["you"]["role"], "dispatcher");
    EXPECT_TRUE((*snap)["server_time"].is_string());
    EXPECT_EQ((*snap)["incidents"].size(), 0u);
    EXPECT_EQ((*snap)["units"].size(), 1u);
    EXPECT_EQ((*snap)["schools"].size(), 2u);
    EXPECT_EQ((*snap)["terminals"]["online"], 0);

    auto t = hello("T-1");
    t->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "bullying"}});
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    const std::string incident = (*ack)["incident"];
    auto received = c->read_type("event");
    ASSERT_TRUE(received);
    EXPECT_EQ((*received)["event"], "alarm_received");
    EXPECT_EQ((*received)["incident"], incident);
    EXPECT_EQ((*received)["school"], "S-1");

    c->send({{"type", "acknowledge"}, {"incident", incident}, {"id", "c1"}});
    auto ok = c->read_type("ok");
    ASSERT_TRUE(ok);
    EXPECT_EQ((*ok)["ref"], "c1");
    c->send(
        {{"type", "note"}, {"incident", incident}, {"text", "called the school"}, {"id", "c2"}});
    ASSERT_TRUE(c->read_type("ok"));
    c->send({{"type", "assign"}, {"incident", "I-nope"}, {"unit", "P-1"}, {"id", "c3"}});
    auto error = c->read_type("error");
    ASSERT_TRUE(error);
    EXPECT_EQ((*error)["ref"], "c3");
    c->send({{"type", "cancel"},
             {"incident", incident},
             {"reason", "pressed by mistake"},
             {"id", "c4"}});
    ASSERT_TRUE(c->read_type("ok"));

    // The dispatcher's name is the actor in the timeline.
    std::vector<std::string> rows;
    EXPECT_TRUE(eventually([&] {
        rows = db_->column(
            "SELECT type || '/' || actor FROM incident_events WHERE incident_id = $1 AND "
            "type IN ('console_acknowledged', 'note', 'cancelled') ORDER BY seq",
            {incident});
        return rows.size() == 3;
    }));
    EXPECT_EQ(rows, (std::vector<std::string>{"console_acknowledged/desk-7", "note/desk-7",
                                              "cancelled/desk-7"}));
    auto status = t->read_frame_of_type("status");
    std::string last;
    while (status) {
        last = (*status)["state"];
        if (last == "cancelled") break;
        status = t->read_frame_of_type("status");
    }
    EXPECT_EQ(last, "cancelled");
}

TEST_F(Console, ReadOnlyRolesWatchButCannotCommand) {
    const std::string auditor = make_token("auditor", "inspector");
    auto c = console(auditor);
    ASSERT_TRUE(c->read_type("snapshot"));
    c->send({{"type", "resolve"}, {"incident", "I-1"}, {"id", "x"}});
    auto e = c->read_type("error");
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "forbidden");
    auto unit = make_token("unit", "p1", "P-1");
    auto u = console(unit);
    auto refused = u->read_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "forbidden");
}

TEST_F(Console, EducationTokensSeeOnlyTheirDistricts) {
    std::ofstream(dir_ / "d2.json") << R"json({"districts": [{"id": "D-2", "name": "Wuchang"}],
        "schools": [{"id": "S-3", "name": "No.3", "district": "D-2", "lat": 30.55, "lon": 114.31}],
        "terminals": [{"id": "T-3", "school": "S-3"}]})json";
    auto r = run_huxiaod(
        {"import", "--config", (dir_ / "huxiao.json").string(), (dir_ / "d2.json").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    start_server();  // picks up the imported registry
    auto edu = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                            "--role", "education", "--name", "bureau-d2", "--districts", "D-2"});
    ASSERT_EQ(edu.status, 0) << edu.err;
    auto c = console(edu.out.substr(0, edu.out.find('\n')));
    auto snap = c->read_type("snapshot");
    ASSERT_TRUE(snap);
    ASSERT_EQ((*snap)["schools"].size(), 1u);
    EXPECT_EQ((*snap)["schools"][0]["id"], "S-3");

    auto t = hello("T-1");  // a D-1 school: not for this console
    t->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "fire"}});
    ASSERT_TRUE(t->read_frame_of_type("ack"));
    auto cert = certs_->terminal("T-3");
    TerminalClient t3(port(), &cert, certs_->server_ca());
    t3.connect_and_hello("T-3");
    t3.send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "fire"}});
    ASSERT_TRUE(t3.read_frame_of_type("ack"));
    // The first incident event this console sees is the D-2 one.
    auto event = c->read_type("event");
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["school"], "S-3");
}

}  // namespace
}  // namespace huxiao::test
