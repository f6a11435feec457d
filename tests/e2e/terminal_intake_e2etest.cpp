// Alarm intake end to end (contract §3): real huxiaod, real PostgreSQL, real
// mutual TLS on loopback.
#include <gtest/gtest.h>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

json alarm(const std::string& id, const std::string& kind = "intrusion") {
    return {{"type", "alarm"}, {"id", id},        {"kind", kind}, {"at", "2026-09-01T07:30:00Z"},
            {"drill", false},  {"note", "gate 2"}};
}

class TerminalIntake : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
    }
    std::string count(const std::string& sql) const { return db_->scalar(sql); }
};

TEST_F(TerminalIntake, HelloGetsWelcomeWithServerTimeAndHeartbeat) {
    auto t = client("T-1");
    ASSERT_TRUE(t->connect());
    t->send({{"type", "hello"}, {"terminal", "T-1"}, {"proto", 1}, {"fw", "2.3.1"}});
    auto welcome = t->read_frame();
    ASSERT_TRUE(welcome);
    EXPECT_EQ((*welcome)["type"], "welcome");
    EXPECT_EQ((*welcome)["heartbeat_s"], 30);
    const std::string server_time = (*welcome)["server_time"];
    EXPECT_EQ(server_time.size(), 24u) << server_time;  // 2026-09-01T07:30:00.000Z
    EXPECT_EQ(server_time.back(), 'Z');
}

TEST_F(TerminalIntake, AlarmIsAckedAfterItIsInTheDatabase) {
    auto t = hello("T-1");
    ASSERT_TRUE(t->send(alarm("A-17", "assault")));
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    EXPECT_EQ((*ack)["id"], "A-17");
    const std::string incident = (*ack)["incident"];
    ASSERT_FALSE(incident.empty());
    // The ack promised durability: the rows are there now.
    EXPECT_EQ(
        db_->scalar("SELECT school_id || '/' || kind || '/' || drill FROM incidents WHERE id = $1",
                    {incident}),
        "S-1/assault/false");
    EXPECT_EQ(db_->scalar("SELECT string_agg(type, ',' ORDER BY seq) FROM incident_events "
                          "WHERE incident_id = $1 AND type IN ('alarm_received', 'repeat_alarm')",
                          {incident}),
              "alarm_received");
    EXPECT_EQ(db_->scalar("SELECT details->>'note' FROM incident_events WHERE incident_id = $1 "
                          "AND type = 'alarm_received'",
                          {incident}),
              "gate 2");
    EXPECT_EQ(db_->scalar("SELECT incident_id FROM terminal_events WHERE terminal_id = 'T-1' AND "
                          "event_id = 'A-17'"),
              incident);
}

TEST_F(TerminalIntake, RetransmissionGetsTheSameAckAndRecordsNothingNew) {
    auto t = hello("T-1");
    t->send(alarm("A-1"));
    auto first = t->read_frame_of_type("ack");
    ASSERT_TRUE(first);
    t->send(alarm("A-1"));
    auto second = t->read_frame_of_type("ack");
    ASSERT_TRUE(second);
    EXPECT_EQ((*first)["incident"], (*second)["incident"]);
    EXPECT_EQ(count("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(count("SELECT count(*) FROM incident_events WHERE type IN ('alarm_received', "
                    "'repeat_alarm')"),
              "1");
    EXPECT_EQ(count("SELECT count(*) FROM terminal_events"), "1");
}

TEST_F(TerminalIntake, SecondAlarmFromTheSameSchoolJoinsTheOpenIncident) {
    auto t1 = hello("T-1");
    auto t1b = hello("T-1B");
    t1->send(alarm("A-1"));
    auto first = t1->read_frame_of_type("ack");
    ASSERT_TRUE(first);
    t1b->send(alarm("B-1", "assault"));
    auto second = t1b->read_frame_of_type("ack");
    ASSERT_TRUE(second);
    EXPECT_EQ((*first)["incident"], (*second)["incident"]);
    EXPECT_EQ(count("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(db_->scalar("SELECT string_agg(type, ',' ORDER BY seq) FROM incident_events "
                          "WHERE type IN ('alarm_received', 'repeat_alarm')"),
              "alarm_received,repeat_alarm");
}

TEST_F(TerminalIntake, AlarmsFromDifferentSchoolsAreDifferentIncidents) {
    auto t1 = hello("T-1");
    auto t2 = hello("T-2");
    t1->send(alarm("A-1"));
    t2->send(alarm("A-1"));  // the same id from another terminal is another alarm
    auto a1 = t1->read_frame_of_type("ack");
    auto a2 = t2->read_frame_of_type("ack");
    ASSERT_TRUE(a1 && a2);
    EXPECT_NE((*a1)["incident"], (*a2)["incident"]);
    EXPECT_EQ(count("SELECT count(*) FROM incidents"), "2");
}

TEST_F(TerminalIntake, DrillDoesNotJoinARealIncident) {
    auto t = hello("T-1");
    t->send(alarm("A-1"));
    auto real = t->read_frame_of_type("ack");
    json drill = alarm("A-2");
    drill["drill"] = true;
    t->send(drill);
    auto practice = t->read_frame_of_type("ack");
    ASSERT_TRUE(real && practice);
    EXPECT_NE((*real)["incident"], (*practice)["incident"]);
    EXPECT_EQ(db_->scalar("SELECT drill::text FROM incidents WHERE id = $1",
                          {(*practice)["incident"].get<std::string>()}),
              "true");
}

TEST_F(TerminalIntake, HeartbeatIsEchoed) {
    auto t = hello("T-1");
    t->send({{"type", "heartbeat"}, {"seq", 42}});
    auto ack = t->read_frame();
    ASSERT_TRUE(ack);
    EXPECT_EQ(*ack, (json{{"type", "heartbeat_ack"}, {"seq", 42}}));
}

TEST_F(TerminalIntake, CancelIsRecordedAsARequestAndAcked) {
    auto t = hello("T-1");
    t->send(alarm("A-17"));
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    t->send(
        {{"type", "cancel"}, {"id", "C-3"}, {"alarm", "A-17"}, {"reason", "pressed by mistake"}});
    auto cancel_ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(cancel_ack);
    EXPECT_EQ((*cancel_ack)["id"], "C-3");
    EXPECT_EQ((*cancel_ack)["incident"], (*ack)["incident"]);
    EXPECT_EQ(db_->scalar(
                  "SELECT details->>'reason' FROM incident_events WHERE type = 'cancel_requested'"),
              "pressed by mistake");
    // A request, not a cancellation: the dispatcher decides.
    EXPECT_EQ(count("SELECT (closed_at IS NULL)::text || ' ' || state FROM incidents"),
              "true no_unit_available");
}

TEST_F(TerminalIntake, CancelOfAnUnknownAlarmIsABadFrame) {
    auto t = hello("T-1");
    t->send({{"type", "cancel"}, {"id", "C-1"}, {"alarm", "NOPE"}});
    auto error = t->read_frame();
    ASSERT_TRUE(error);
    EXPECT_EQ((*error)["code"], "bad_frame");
    EXPECT_EQ((*error)["ref"], "C-1");
    EXPECT_EQ(count("SELECT count(*) FROM incident_events WHERE type = 'cancel_requested'"), "0");
}

TEST_F(TerminalIntake, BadFramesAreAnsweredAndTheConnectionStaysOpen) {
    auto t = hello("T-1");
    t->send_line("this is not json");
    auto e1 = t->read_frame();
    ASSERT_TRUE(e1);
    EXPECT_EQ((*e1)["type"], "error");
    EXPECT_EQ((*e1)["code"], "bad_frame");
    EXPECT_TRUE((*e1)["ref"].is_null());

    t->send({{"type", "alarm"}, {"id", "A-5"}, {"kind", "dragon"}});
    auto e2 = t->read_frame();
    ASSERT_TRUE(e2);
    EXPECT_EQ((*e2)["code"], "bad_frame");
    EXPECT_EQ((*e2)["ref"], "A-5");

    t->send({{"type", "selfie"}, {"id", "X-1"}});
    auto e3 = t->read_frame();
    ASSERT_TRUE(e3);
    EXPECT_EQ((*e3)["code"], "unknown_type");

    // Still open: an alarm goes through.
    t->send(alarm("A-6"));
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    EXPECT_EQ((*ack)["id"], "A-6");
}

TEST_F(TerminalIntake, TenBadFramesInARowCloseTheConnection) {
    auto t = hello("T-1");
    for (int i = 0; i < 10; ++i) t->send_line("{oops");
    for (int i = 0; i < 10; ++i) {
        auto e = t->read_frame();
        ASSERT_TRUE(e) << "error " << i;
        EXPECT_EQ((*e)["code"], "bad_frame");
    }
    EXPECT_TRUE(t->wait_closed());
}

TEST_F(TerminalIntake, GoodFrameResetsTheBadFrameCount) {
    auto t = hello("T-1");
    for (int i = 0; i < 9; ++i) t->send_line("{oops");
    t->send({{"type", "heartbeat"}, {"seq", 1}});
    for (int i = 0; i < 9; ++i) t->send_line("{oops");
    t->send({{"type", "heartbeat"}, {"seq", 2}});
    auto hb = t->read_frame_of_type("heartbeat_ack");
    ASSERT_TRUE(hb);
    EXPECT_EQ((*hb)["seq"], 1);
    hb = t->read_frame_of_type("heartbeat_ack");
    ASSERT_TRUE(hb);
    EXPECT_EQ((*hb)["seq"], 2);
}

TEST_F(TerminalIntake, OversizedFrameIsRefusedAndClosed) {
    auto t = hello("T-1");
    t->send_line(std::string(5000, 'x'));
    auto e = t->read_frame();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "frame_too_large");
    EXPECT_TRUE(t->wait_closed());
}

TEST_F(TerminalIntake, FirstFrameMustBeHello) {
    auto t = client("T-1");
    ASSERT_TRUE(t->connect());
    t->send(alarm("A-1"));
    auto e = t->read_frame();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "not_hello");
    EXPECT_TRUE(t->wait_closed());
    EXPECT_EQ(count("SELECT count(*) FROM incidents"), "0");
}

TEST_F(TerminalIntake, SilentConnectionIsClosedAfterHelloTimeout) {
    auto t = client("T-1");
    ASSERT_TRUE(t->connect());
    // hello_timeout_s is 2 in the test config.
    EXPECT_TRUE(t->wait_closed(std::chrono::seconds(15)));
}

TEST_F(TerminalIntake, HelloMustNameTheCertificate) {
    auto t = client("T-1");
    ASSERT_TRUE(t->connect());
    t->send({{"type", "hello"}, {"terminal", "T-2"}, {"proto", 1}});
    auto e = t->read_frame();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "identity_mismatch");
    EXPECT_TRUE(t->wait_closed());
}

TEST_F(TerminalIntake, UnregisteredTerminalIsRefused) {
    auto t = client("T-404");  // valid certificate, but not in the registry
    ASSERT_TRUE(t->connect());
    t->send({{"type", "hello"}, {"terminal", "T-404"}, {"proto", 1}});
    auto e = t->read_frame();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "unknown_terminal");
    EXPECT_TRUE(t->wait_closed());
}

TEST_F(TerminalIntake, DisabledTerminalIsRefused) {
    auto t = client("T-9");
    ASSERT_TRUE(t->connect());
    t->send({{"type", "hello"}, {"terminal", "T-9"}, {"proto", 1}});
    auto e = t->read_frame();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "unknown_terminal");
    EXPECT_TRUE(t->wait_closed());
}

// With TLS 1.3 the client may finish its handshake before the server has
// judged the client certificate; the refusal then arrives as an alert on the
// first read. Either way no welcome ever comes.
void expect_refused_at_tls(TerminalClient& t) {
    std::string error;
    if (!t.connect(&error)) {
        SUCCEED() << error;
        return;
    }
    t.send({{"type", "hello"}, {"terminal", "T-1"}, {"proto", 1}});
    EXPECT_FALSE(t.read_frame(std::chrono::seconds(5)));
    EXPECT_TRUE(t.wait_closed());
}

TEST_F(TerminalIntake, ConnectionWithoutClientCertificateIsRefused) {
    TerminalClient t(port(), nullptr, certs_->server_ca());
    expect_refused_at_tls(t);
}

TEST_F(TerminalIntake, CertificateFromAnotherCaIsRefused) {
    auto foreign = certs_->foreign_terminal("T-1");
    TerminalClient t(port(), &foreign, certs_->server_ca());
    expect_refused_at_tls(t);
}

TEST_F(TerminalIntake, ExpiredCertificateIsRefused) {
    auto expired = certs_->expired_terminal("T-1");
    TerminalClient t(port(), &expired, certs_->server_ca());
    expect_refused_at_tls(t);
}

TEST_F(TerminalIntake, FloodIsRateLimited) {
    config()["terminal_listener"]["max_frames_per_s"] = 5;  // burst of 10
    start_server();
    auto t = hello("T-1");
    for (int i = 0; i < 30; ++i) t->send({{"type", "heartbeat"}, {"seq", i}});
    auto e = t->read_frame_of_type("error");
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "rate_limited");
    EXPECT_TRUE(t->wait_closed());
}

TEST_F(TerminalIntake, AckedAlarmSurvivesKill9AndRetransmissionFindsIt) {
    std::string incident;
    {
        auto t = hello("T-1");
        t->send(alarm("A-99"));
        auto ack = t->read_frame_of_type("ack");
        ASSERT_TRUE(ack);
        incident = (*ack)["incident"];
    }
    server().kill_hard();
    start_server();
    auto t = hello("T-1");
    t->send(alarm("A-99"));
    auto again = t->read_frame_of_type("ack");
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)["incident"], incident);
    EXPECT_EQ(count("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(count("SELECT count(*) FROM terminal_events"), "1");
    // A new alarm from the same school still joins the recovered open incident.
    t->send(alarm("A-100"));
    auto joined = t->read_frame_of_type("ack");
    ASSERT_TRUE(joined);
    EXPECT_EQ((*joined)["incident"], incident);
}

TEST_F(TerminalIntake, SigtermDrainsAndExitsCleanly) {
    auto t = hello("T-1");
    t->send(alarm("A-1"));
    ASSERT_TRUE(t->read_frame_of_type("ack"));
    EXPECT_EQ(server().terminate(), 0);
    EXPECT_TRUE(t->wait_closed());
}

}  // namespace
}  // namespace huxiao::test
