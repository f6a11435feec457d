// What a restarted huxiaod knows of the alarms of its open incidents (issue
// #10 item 6): it reads back only each terminal's latest alarm of an open
// incident, so an older alarm id is checked against the database before
// anything acts on it. Real huxiaod, real PostgreSQL, kill -9 in between.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

json alarm(const std::string& id) {
    return {{"type", "alarm"},     {"id", id},
            {"kind", "intrusion"}, {"at", "2026-09-01T07:30:00Z"},
            {"drill", false},      {"note", "gate 2"}};
}

class RestartRecovery : public ServerTest {
  protected:
    std::string scalar(const std::string& sql,
                       const std::vector<std::optional<std::string>>& params = {}) const {
        return db_->scalar(sql, params);
    }
    // The rows an alarm can write, and the refused ones.
    struct Rows {
        long incidents, alarm_events, terminal_events, dead_letters;
    };
    Rows rows() const {
        const auto n = [this](const char* sql) { return std::stol(scalar(sql)); };
        return {n("SELECT count(*) FROM incidents"),
                n("SELECT count(*) FROM incident_events WHERE type IN ('alarm_received', "
                  "'repeat_alarm')"),
                n("SELECT count(*) FROM terminal_events"), n("SELECT count(*) FROM dead_letters")};
    }
    // T-1 raises `ids` in turn (one incident: they join it); returns it.
    std::string raise(TerminalClient& t, const std::vector<std::string>& ids) {
        std::string incident;
        for (const auto& id : ids) {
            t.send(alarm(id));
            auto ack = t.read_frame_of_type("ack");
            if (!ack) {
                ADD_FAILURE() << "no ack for " << id;
                return {};
            }
            if (incident.empty()) incident = (*ack)["incident"];
            EXPECT_EQ((*ack)["incident"], incident) << id << " did not join";
        }
        return incident;
    }
};

TEST_F(RestartRecovery, OldAlarmIdOfAnOpenIncidentGetsItsIncidentAndRecordsNothingNew) {
    config()["dispatch"]["repeat_window_s"] = 2;
    start_server();
    std::string incident;
    {
        auto t = hello("T-1");
        incident = raise(*t, {"A-1", "A-2", "A-3"});
        ASSERT_FALSE(incident.empty());
    }
    server().kill_hard();
    start_server();
    // Beyond the repeat window: a new alarm id now opens a new incident, so
    // a retransmission mistaken for one would too.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const Rows before = rows();

    auto t = hello("T-1");
    for (const char* old_id : {"A-1", "A-2", "A-3"}) {
        t->send(alarm(old_id));
        auto ack = t->read_frame_of_type("ack");
        ASSERT_TRUE(ack) << old_id;
        EXPECT_EQ((*ack)["id"], old_id);
        EXPECT_EQ((*ack)["incident"], incident) << old_id;
    }
    // A new alarm opens a new incident, and dispatch hears of it (no unit is
    // connected: no_unit_available, written by the core after the alarm).
    t->send(alarm("A-4"));
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    const std::string fresh = (*ack)["incident"];
    EXPECT_NE(fresh, incident);
    ASSERT_TRUE(eventually([&] {
        return scalar(
                   "SELECT count(*) FROM incident_events WHERE incident_id = $1 AND type = "
                   "'no_unit_available'",
                   {fresh}) == "1";
    })) << server().log();
    // The old ids wrote nothing: the new alarm's rows are all there is.
    const Rows after = rows();
    EXPECT_EQ(after.incidents, before.incidents + 1);
    EXPECT_EQ(after.alarm_events, before.alarm_events + 1);
    EXPECT_EQ(after.terminal_events, before.terminal_events + 1);
    EXPECT_EQ(after.dead_letters, 0);
    // Nothing was opened by mistake and cancelled again.
    EXPECT_EQ(scalar("SELECT count(*) FROM incidents WHERE closed_at IS NOT NULL"), "0");
    EXPECT_EQ(scalar("SELECT count(*) FROM incident_events WHERE type = 'cancelled'"), "0");
    // Once resolved, the old ids stay retransmissions.
    t->send(alarm("A-2"));
    auto again = t->read_frame_of_type("ack");
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)["incident"], incident);
}

TEST_F(RestartRecovery, NewAlarmWithinTheWindowJoinsAfterTheDatabaseAnswered) {
    start_server();  // repeat_window_s 120
    std::string incident;
    {
        auto t = hello("T-1");
        incident = raise(*t, {"A-1", "A-2"});
        ASSERT_FALSE(incident.empty());
    }
    server().kill_hard();
    start_server();
    auto t = hello("T-1");
    t->send(alarm("A-3"));
    auto ack = t->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    EXPECT_EQ((*ack)["incident"], incident);
    EXPECT_EQ(scalar("SELECT string_agg(details->>'alarm', ',' ORDER BY seq) FROM incident_events "
                     "WHERE incident_id = $1 AND type IN ('alarm_received', 'repeat_alarm')",
                     {incident}),
              "A-1,A-2,A-3");
    EXPECT_EQ(scalar("SELECT count(*) FROM incidents"), "1");
}

TEST_F(RestartRecovery, CancelsOfOldAndLatestAlarmsWorkAfterARestart) {
    start_server();
    std::string incident;
    {
        auto t = hello("T-1");
        incident = raise(*t, {"A-1", "A-2"});
        ASSERT_FALSE(incident.empty());
    }
    server().kill_hard();
    start_server();
    auto t = hello("T-1");
    for (const auto& [cancel_id, alarm_id] :
         std::vector<std::pair<std::string, std::string>>{{"C-1", "A-1"}, {"C-2", "A-2"}}) {
        t->send({{"type", "cancel"},
                 {"id", cancel_id},
                 {"alarm", alarm_id},
                 {"reason", "pressed by mistake"}});
        auto ack = t->read_frame_of_type("ack");
        ASSERT_TRUE(ack) << cancel_id;
        EXPECT_EQ((*ack)["id"], cancel_id);
        EXPECT_EQ((*ack)["incident"], incident) << cancel_id;
    }
    EXPECT_EQ(scalar("SELECT string_agg(details->>'alarm', ',' ORDER BY seq) FROM incident_events "
                     "WHERE incident_id = $1 AND type = 'cancel_requested'",
                     {incident}),
              "A-1,A-2");
}

}  // namespace
}  // namespace huxiao::test
