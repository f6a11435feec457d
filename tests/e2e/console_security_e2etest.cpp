// Contract 1.1 on the WebSocket channels, against the real server: district
// isolation of education consoles (events, including those sent after an
// incident closed, and snapshots), every console command × role, immediate
// revocation (tokens, disabled terminals), and per-connection rate limits
// that keep a flooding console from slowing dispatch.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// A second district: S-3 with terminal T-3, patrol unit P-3 next to it.
const char* const kDistrict2 = R"json({
  "districts": [{"id": "D-2", "name": "Wuchang"}],
  "schools": [{"id": "S-3", "name": "No.3 Secret", "district": "D-2", "lat": 30.55, "lon": 114.31}],
  "terminals": [{"id": "T-3", "school": "S-3"}],
  "units": [{"id": "P-3", "callsign": "Patrol 3", "district": "D-2", "lat": 30.551, "lon": 114.311}]
})json";

class ConsoleSecurity : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        std::ofstream(dir_ / "d2.json") << kDistrict2;
        auto r = run_huxiaod(
            {"import", "--config", (dir_ / "huxiao.json").string(), (dir_ / "d2.json").string()});
        ASSERT_EQ(r.status, 0) << r.err;
        start_server();
        dispatcher_ = make_token("dispatcher", "desk-7");
        admin_ = make_token("admin", "root");
    }

    std::string education_token(const std::string& name, const std::string& districts) {
        auto r = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                              "--role", "education", "--name", name, "--districts", districts});
        if (r.status != 0) throw std::runtime_error("token create failed: " + r.err);
        return r.out.substr(0, r.out.find('\n'));
    }

    std::unique_ptr<TerminalClient> terminal_t3() {
        t3_cert_ = certs_->terminal("T-3");
        auto t = std::make_unique<TerminalClient>(port(), &t3_cert_, certs_->server_ca());
        t->connect_and_hello("T-3");
        return t;
    }

    HttpReply admin(const std::string& method, const std::string& target, const json& body) {
        return https_request(api_port(), certs_->server_ca(), method, target, admin_,
                             body.is_null() ? "" : body.dump());
    }

    // Reads `ws` until an event `event` of `incident`, collecting everything.
    std::optional<json> until_event(WsClient& ws, const std::string& incident,
                                    const std::string& event, std::vector<json>* seen = nullptr) {
        for (int i = 0; i < 200; ++i) {
            auto m = ws.read();
            if (!m) return std::nullopt;
            if (seen) seen->push_back(*m);
            if ((*m)["type"] == "event" && (*m)["incident"] == incident && (*m)["event"] == event)
                return m;
        }
        return std::nullopt;
    }

    std::string raise(TerminalClient& t, const std::string& id) {
        t.send({{"type", "alarm"}, {"id", id}, {"kind", "medical"}});
        auto ack = t.read_frame_of_type("ack");
        if (!ack) throw std::runtime_error("no ack for " + id);
        return (*ack)["incident"];
    }

    std::string dispatcher_, admin_;
    CertFactory::Pair t3_cert_;
};

// Nothing that names a D-2 school, terminal, unit or district, nor the words
// only D-2 events carry, may reach a D-1 education console.
void expect_nothing_of_district_2(const json& m) {
    const std::string text = m.dump();
    for (const char* secret : {"S-3", "T-3", "P-3", "D-2", "No.3 Secret", "Patrol 3", "Wuchang",
                               "secret-note", "secret-reason"}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
    }
}

TEST_F(ConsoleSecurity, AnEducationConsoleNeverSeesAnotherDistrict) {
    auto edu = console(education_token("bureau-d1", "D-1"));
    auto desk = console(dispatcher_);
    std::vector<json> seen;
    auto snap = edu->read_type("snapshot");
    ASSERT_TRUE(snap);
    seen.push_back(*snap);
    EXPECT_EQ((*snap)["units"].size(), 1u);  // P-1 only
    EXPECT_EQ((*snap)["schools"].size(), 2u);
    ASSERT_TRUE(desk->read_type("snapshot"));

    // D-2: a terminal comes online, a unit works an incident to its end
    // (unit_cleared closes it), one is resolved and one cancelled by a dispatcher.
    auto t3 = terminal_t3();
    auto p3 = unit(make_token("unit", "patrol-3", "P-3"));
    p3->send({{"type", "position"}, {"lat", 30.551}, {"lon", 114.311}});
    const std::string worked = raise(*t3, "A-1");
    auto offer = p3->read_type("offer");
    ASSERT_TRUE(offer);
    ASSERT_EQ((*offer)["incident"], worked);
    p3->send({{"type", "accept"}, {"incident", worked}});
    p3->send({{"type", "arrived"}, {"incident", worked}});
    p3->send({{"type", "clear"}, {"incident", worked}, {"outcome", "secret-note"}});
    ASSERT_TRUE(until_event(*desk, worked, "resolved"));

    const std::string resolved = raise(*t3, "A-2");
    desk->send({{"type", "resolve"}, {"incident", resolved}, {"note", "secret-note"}});
    ASSERT_TRUE(until_event(*desk, resolved, "resolved"));
    const std::string cancelled = raise(*t3, "A-3");
    desk->send({{"type", "cancel"}, {"incident", cancelled}, {"reason", "secret-reason"}});
    ASSERT_TRUE(until_event(*desk, cancelled, "cancelled"));
    const std::string open_d2 = raise(*t3, "A-4");
    ASSERT_TRUE(until_event(*desk, open_d2, "alarm_received"));

    // A D-1 incident after all that: the education console gets it, and
    // everything it got before is checked.
    auto t1 = hello("T-1");
    const std::string mine = raise(*t1, "A-1");
    desk->send({{"type", "cancel"}, {"incident", mine}, {"reason", "drill over"}});
    ASSERT_TRUE(until_event(*edu, mine, "cancelled", &seen));
    edu->send({{"type", "snapshot"}});
    auto later = edu->read_type("snapshot");
    ASSERT_TRUE(later);
    seen.push_back(*later);
    EXPECT_EQ((*later)["incidents"].size(), 0u);  // the D-2 incident still open is not listed
    for (const json& m : seen) expect_nothing_of_district_2(m);
    bool saw_mine = false;
    for (const json& m : seen) saw_mine |= m.value("incident", "") == mine;
    EXPECT_TRUE(saw_mine);

    // The dispatcher (no district limit) saw the D-2 incident and its unit.
    desk->send({{"type", "snapshot"}});
    auto full = desk->read_type("snapshot");
    ASSERT_TRUE(full);
    EXPECT_NE(full->dump().find(open_d2), std::string::npos);
    EXPECT_NE(full->dump().find("P-3"), std::string::npos);
}

// Every console command × every role that may open a console, plus the roles
// that may not (unit) and no token at all.
TEST_F(ConsoleSecurity, EveryCommandByEveryRole) {
    auto t1 = hello("T-1");
    const std::string incident = raise(*t1, "A-1");
    const std::map<std::string, std::string> tokens = {
        {"admin", admin_},
        {"dispatcher", dispatcher_},
        {"auditor", make_token("auditor", "inspector")},
        {"education", education_token("bureau-d1", "D-1")}};
    struct Row {
        json command;
        std::string steering;  // dispatcher: the answer's type or error code
        std::string
            read_only;  // admin, auditor, education (contract §4: commands are the dispatcher's)
    };
    const std::vector<Row> table = {
        {{{"type", "acknowledge"}, {"incident", incident}}, "ok", "forbidden"},
        {{{"type", "note"}, {"incident", incident}, {"text", "called"}}, "ok", "forbidden"},
        {{{"type", "assign"}, {"incident", incident}, {"unit", "P-404"}},
         "unknown_unit",
         "forbidden"},
        {{{"type", "resolve"}, {"incident", "I-none"}}, "not_found", "forbidden"},
        {{{"type", "cancel"}, {"incident", "I-none"}}, "not_found", "forbidden"},
        {{{"type", "note"}, {"incident", incident}}, "bad_frame", "forbidden"},
        {{{"type", "launch"}, {"incident", incident}}, "unknown_type", "unknown_type"},
        {{{"type", "snapshot"}}, "snapshot", "snapshot"},
    };
    for (const auto& [role, token] : tokens) {
        auto c = console(token);
        ASSERT_TRUE(c->read_type("snapshot")) << role;
        const bool steering = role == "dispatcher";
        int n = 0;
        for (const Row& row : table) {
            json command = row.command;
            const std::string id = role + "-" + std::to_string(++n);
            command["id"] = id;
            c->send(command);
            const std::string expected = steering ? row.steering : row.read_only;
            std::optional<json> answer;
            for (int i = 0; i < 50; ++i) {
                answer = c->read();
                if (!answer || (*answer)["type"] == "snapshot" ||
                    (*answer).value("ref", json()) == id)
                    break;
            }
            ASSERT_TRUE(answer) << role << " " << command.dump();
            const std::string got =
                (*answer)["type"] == "error" ? (*answer)["code"] : (*answer)["type"];
            EXPECT_EQ(got, expected) << role << " " << command.dump();
        }
    }
    // Roles that may not open a console at all.
    auto u = console(make_token("unit", "p1", "P-1"));
    auto refused = u->read_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "forbidden");
    auto nobody = console("not-a-token");
    auto unauthorized = nobody->read_type("error");
    ASSERT_TRUE(unauthorized);
    EXPECT_EQ((*unauthorized)["code"], "unauthorized");
}

TEST_F(ConsoleSecurity, RevokingATokenClosesItsOpenConsoleAndItCommandsNothingMore) {
    auto t1 = hello("T-1");
    const std::string incident = raise(*t1, "A-1");
    auto doomed = console(dispatcher_);
    ASSERT_TRUE(doomed->read_type("snapshot"));
    auto other = console(make_token("dispatcher", "desk-8"));
    ASSERT_TRUE(other->read_type("snapshot"));

    auto revoked = admin("DELETE", "/api/v1/tokens/desk-7", nullptr);
    ASSERT_EQ(revoked.status, 200) << revoked.body;
    doomed->send({{"type", "note"}, {"incident", incident}, {"text", "after revoke"}});
    ASSERT_TRUE(doomed->wait_closed());
    EXPECT_EQ(doomed->close_code(), 4001);
    EXPECT_EQ(doomed->close_reason(), "revoked");

    // Another console's note, after: once it is stored, the revoked one would be too.
    other->send({{"type", "note"}, {"incident", incident}, {"text", "still here"}, {"id", "n"}});
    ASSERT_TRUE(other->read_type("ok"));
    std::vector<std::string> notes;
    EXPECT_TRUE(eventually([&] {
        notes = db_->column(
            "SELECT actor || ':' || (details->>'text') FROM incident_events WHERE "
            "incident_id = $1 AND type = 'note' ORDER BY seq",
            {incident});
        return !notes.empty();
    }));
    EXPECT_EQ(notes, (std::vector<std::string>{"desk-8:still here"}));
    // And the token cannot open a new one.
    auto again = console(dispatcher_);
    auto refused = again->read_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "unauthorized");
}

TEST_F(ConsoleSecurity, RevokingAUnitTokenClosesTheUnitSession) {
    auto p1 = unit(make_token("unit", "patrol-1", "P-1"));
    auto revoked = admin("DELETE", "/api/v1/tokens/patrol-1", nullptr);
    ASSERT_EQ(revoked.status, 200) << revoked.body;
    ASSERT_TRUE(p1->wait_closed());
    EXPECT_EQ(p1->close_code(), 4001);
    EXPECT_EQ(p1->close_reason(), "revoked");
}

TEST_F(ConsoleSecurity, DisablingAConnectedTerminalEndsItsSession) {
    auto t1 = hello("T-1");
    auto disabled = admin("PUT", "/api/v1/terminals/T-1", {{"school", "S-1"}, {"enabled", false}});
    ASSERT_EQ(disabled.status, 200) << disabled.body;
    auto error = t1->read_frame_of_type("error");
    ASSERT_TRUE(error);
    EXPECT_EQ((*error)["code"], "unknown_terminal");
    EXPECT_TRUE(t1->wait_closed());
    // T-1B of the same school is not affected.
    auto t1b = hello("T-1B");
    EXPECT_FALSE(raise(*t1b, "A-1").empty());
}

TEST_F(ConsoleSecurity, MovingAConnectedTerminalToAnotherSchoolEndsItsSession) {
    auto t1 = hello("T-1");
    auto moved = admin("PUT", "/api/v1/terminals/T-1", {{"school", "S-2"}, {"enabled", true}});
    ASSERT_EQ(moved.status, 200) << moved.body;
    auto error = t1->read_frame_of_type("error");
    ASSERT_TRUE(error);
    EXPECT_EQ((*error)["code"], "unknown_terminal");
    EXPECT_TRUE(t1->wait_closed());
}

// A read-only console sending snapshot requests as fast as it can, never
// reading: it is refused with rate_limited and finally closed, while an alarm
// raised meanwhile is acked and offered as usual.
TEST_F(ConsoleSecurity, AFloodingConsoleIsLimitedAndDispatchGoesOn) {
    auto flood = console(make_token("auditor", "flooder"));
    ASSERT_TRUE(flood->read_type("snapshot"));
    auto p1 = unit(make_token("unit", "patrol-1", "P-1"));
    p1->send({{"type", "position"}, {"lat", 30.59}, {"lon", 114.29}});
    int sent = 0;
    for (; sent < 2000; ++sent) {
        if (!flood->send({{"type", "snapshot"}})) break;  // closed by the server
    }
    auto t1 = hello("T-1");
    const std::string incident = raise(*t1, "A-1");
    auto offer = p1->read_type("offer");
    ASSERT_TRUE(offer);
    EXPECT_EQ((*offer)["incident"], incident);

    int snapshots = 0, limited = 0;
    for (;;) {
        auto m = flood->read(std::chrono::seconds(5));
        if (!m) break;
        if ((*m)["type"] == "snapshot") ++snapshots;
        if ((*m)["type"] == "error" && (*m)["code"] == "rate_limited") ++limited;
    }
    EXPECT_GT(limited, 0);
    EXPECT_LT(snapshots, sent);  // refused or coalesced, never one per request
    EXPECT_TRUE(flood->wait_closed());
    EXPECT_EQ(flood->close_reason(), "rate_limited");
}

// Requests within the rate limit are coalesced, not queued one by one: the
// last one is always answered with a snapshot at least as new as it.
TEST_F(ConsoleSecurity, SnapshotRequestsWithinTheLimitAreAllAnswered) {
    auto c = console(make_token("auditor", "watcher"));
    ASSERT_TRUE(c->read_type("snapshot"));
    for (int i = 0; i < 40; ++i) c->send({{"type", "snapshot"}, {"schools", false}});
    auto t1 = hello("T-1");
    const std::string incident = raise(*t1, "A-1");
    ASSERT_TRUE(until_event(*c, incident, "alarm_received"));
    c->send({{"type", "snapshot"}});
    std::optional<json> last;
    for (int i = 0; i < 60; ++i) {
        auto m = c->read_type("snapshot", std::chrono::seconds(2));
        if (!m) break;
        last = m;
        if ((*m).contains("schools")) break;  // the answer to the last request
    }
    ASSERT_TRUE(last);
    ASSERT_TRUE((*last).contains("schools"));
    ASSERT_EQ((*last)["incidents"].size(), 1u);
    EXPECT_EQ((*last)["incidents"][0]["id"], incident);
}

}  // namespace
}  // namespace huxiao::test
