// A small alarm storm (issue #11, the correctness side of bench/scale.sh):
// 200 schools, each with its own terminal and certificate, all press at
// once. Every alarm must be acked exactly once and recorded exactly once,
// every incident must be offered to a unit or marked no_unit_available, a
// dispatch console must keep receiving events and /readyz must answer while
// it happens. Real huxiaod, real PostgreSQL, mutual TLS on loopback. No
// durations are asserted: the waits only bound a broken server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

constexpr int kSchools = 200;
constexpr int kUnits = 3;
constexpr int kConnectThreads = 8;

std::string numbered(const char* prefix, int i) {
    char id[32];
    std::snprintf(id, sizeof id, "%s%03d", prefix, i);
    return id;
}

std::string storm_terminal(int i) { return numbered("T-S", i); }

// Schools S-S001… on a grid over Wuhan (about 1 km apart) in district D-1 of
// the fixture's registry; units P-S1… among them.
json storm_registry() {
    json schools = json::array();
    json terminals = json::array();
    for (int i = 1; i <= kSchools; ++i) {
        const std::string school = numbered("S-S", i);
        schools.push_back({{"id", school},
                           {"name", "Storm school " + std::to_string(i)},
                           {"district", "D-1"},
                           {"lat", 30.50 + 0.01 * ((i - 1) / 20)},
                           {"lon", 114.20 + 0.01 * ((i - 1) % 20)}});
        terminals.push_back({{"id", storm_terminal(i)}, {"school", school}, {"enabled", true}});
    }
    json units = json::array();
    for (int u = 1; u <= kUnits; ++u) {
        units.push_back({{"id", "P-S" + std::to_string(u)},
                         {"callsign", "Storm " + std::to_string(u)},
                         {"district", "D-1"},
                         {"lat", 30.55},
                         {"lon", 114.25 + 0.02 * u}});
    }
    return {{"schools", schools}, {"terminals", terminals}, {"units", units}};
}

class AlarmStorm : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        std::ofstream(dir_ / "storm.json") << storm_registry().dump();
        auto r = run_huxiaod({"import", "--config", (dir_ / "huxiao.json").string(),
                              (dir_ / "storm.json").string()});
        ASSERT_EQ(r.status, 0) << r.err;
        for (int i = 1; i <= kSchools; ++i)
            terminal_certs_[storm_terminal(i)] = certs_->terminal(storm_terminal(i));
        // Info, not debug: 200 alarms' debug lines only slow the test.
        config()["log"]["level"] = "info";
        start_server();
    }

    // A unit on duty (connected, positioned, available), as in dispatch_e2etest.
    std::unique_ptr<WsClient> unit_on_duty(const std::string& id, double lat, double lon) {
        auto ws = unit(make_token("unit", "storm-" + id, id));
        ws->send(
            {{"type", "position"}, {"lat", lat}, {"lon", lon}, {"at", "2026-09-01T07:30:00Z"}});
        ws->send({{"type", "availability"}, {"status", "available"}});
        // One unit's messages are handled in order: once this is refused, the
        // position and availability above are in effect.
        ws->send({{"type", "arrived"}, {"incident", "I-sync"}});
        auto sync = ws->read_type("error");
        if (!sync || (*sync)["ref"] != "I-sync") throw std::runtime_error(id + ": not in service");
        return ws;
    }
};

TEST_F(AlarmStorm, TwoHundredSchoolsAtOnceEachAckedAndRecordedOnceAndDispatched) {
    std::vector<std::unique_ptr<WsClient>> units;
    for (int u = 1; u <= kUnits; ++u)
        units.push_back(unit_on_duty("P-S" + std::to_string(u), 30.55, 114.25 + 0.02 * u));

    auto console_ws = console(make_token("dispatcher", "storm-desk"));
    ASSERT_TRUE(console_ws->read_type("snapshot"));

    // Connect every terminal first, several at a time (mutual TLS, each with
    // its own certificate), so that the alarms below leave within one burst.
    std::vector<std::unique_ptr<TerminalClient>> terminals(kSchools);
    std::atomic<int> connect_failures{0};
    std::mutex failure_mutex;
    std::string first_failure;
    {
        std::vector<std::thread> connectors;
        for (int k = 0; k < kConnectThreads; ++k) {
            connectors.emplace_back([&, k] {
                for (int i = k; i < kSchools; i += kConnectThreads) {
                    try {
                        terminals[i] = hello(storm_terminal(i + 1));
                    } catch (const std::exception& e) {
                        ++connect_failures;
                        std::lock_guard lock(failure_mutex);
                        if (first_failure.empty()) first_failure = e.what();
                    }
                }
            });
        }
        for (auto& t : connectors) t.join();
    }
    ASSERT_EQ(connect_failures.load(), 0) << first_failure;

    // The console reads on its own thread for the whole storm and keeps the
    // incidents of the alarm_received events it sees.
    std::atomic<bool> storm_over{false};
    std::set<std::string> console_incidents;
    int console_events = 0;
    std::thread console_reader([&] {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
        while (std::chrono::steady_clock::now() < until) {
            auto message = console_ws->read(std::chrono::milliseconds(500));
            if (!message) {
                if (storm_over && console_incidents.size() >= static_cast<std::size_t>(kSchools))
                    break;
                continue;
            }
            if ((*message)["type"] != "event") continue;
            ++console_events;
            if ((*message)["event"] == "alarm_received")
                console_incidents.insert((*message)["incident"].get<std::string>());
            if (storm_over && console_incidents.size() >= static_cast<std::size_t>(kSchools)) break;
        }
    });
    // /readyz is polled throughout.
    std::vector<int> readyz_statuses;
    std::thread readyz_poller([&] {
        while (!storm_over) {
            readyz_statuses.push_back(
                https_request(api_port(), certs_->server_ca(), "GET", "/readyz").status);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });

    // The storm: every school presses within a few milliseconds.
    for (int i = 0; i < kSchools; ++i) {
        ASSERT_TRUE(
            terminals[i]->send({{"type", "alarm"}, {"id", "A-storm"}, {"kind", "medical"}}));
    }
    const HttpReply ready_mid_storm =
        https_request(api_port(), certs_->server_ca(), "GET", "/readyz");

    // Each terminal: its ack, then a heartbeat; every frame up to the
    // heartbeat's answer is counted, so a second ack of the alarm would show.
    std::map<std::string, std::string> incident_of;  // terminal -> incident
    std::vector<std::string> problems;
    for (int i = 0; i < kSchools; ++i) {
        const std::string terminal = storm_terminal(i + 1);
        auto ack = terminals[i]->read_frame_of_type("ack", std::chrono::seconds(30));
        if (!ack) {
            problems.push_back(terminal + ": no ack");
            continue;
        }
        if ((*ack)["id"] != "A-storm") problems.push_back(terminal + ": ack of " + ack->dump());
        incident_of[terminal] = (*ack)["incident"].get<std::string>();
    }
    for (int i = 0; i < kSchools; ++i) {
        const std::string terminal = storm_terminal(i + 1);
        if (!incident_of.contains(terminal)) continue;
        terminals[i]->send({{"type", "heartbeat"}, {"seq", 1}});
        int more_acks = 0;
        bool answered = false;
        while (auto frame = terminals[i]->read_frame(std::chrono::seconds(30))) {
            if ((*frame)["type"] == "ack") ++more_acks;
            if ((*frame)["type"] == "heartbeat_ack") {
                answered = true;
                break;
            }
        }
        if (!answered) problems.push_back(terminal + ": no heartbeat_ack");
        if (more_acks != 0) problems.push_back(terminal + ": acked again");
    }
    storm_over = true;
    readyz_poller.join();
    console_reader.join();

    EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
    ASSERT_EQ(incident_of.size(), static_cast<std::size_t>(kSchools));
    std::set<std::string> incidents;
    for (const auto& [terminal, incident] : incident_of) incidents.insert(incident);
    EXPECT_EQ(incidents.size(), static_cast<std::size_t>(kSchools))
        << "two schools' alarms were acked with the same incident";

    EXPECT_EQ(ready_mid_storm.status, 200) << ready_mid_storm.body;
    ASSERT_FALSE(readyz_statuses.empty());
    EXPECT_EQ(std::count(readyz_statuses.begin(), readyz_statuses.end(), 200),
              static_cast<std::ptrdiff_t>(readyz_statuses.size()))
        << "/readyz answered something other than 200 during the storm";

    // The console saw every incident open, and nothing it saw is unknown.
    EXPECT_EQ(console_incidents, incidents);
    EXPECT_GE(console_events, kSchools);

    // Nothing lost, nothing doubled: one alarm row and one incident per
    // school, and the acked incidents are the recorded ones.
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events WHERE kind = 'alarm' AND "
                          "terminal_id LIKE 'T-S%'"),
              std::to_string(kSchools));
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incidents WHERE school_id LIKE 'S-S%'"),
              std::to_string(kSchools));
    EXPECT_EQ(db_->scalar("SELECT count(DISTINCT school_id) FROM incidents WHERE school_id LIKE "
                          "'S-S%'"),
              std::to_string(kSchools));
    std::string recorded_mismatches;
    for (const auto& [terminal, incident] : incident_of) {
        const std::string recorded = db_->scalar(
            "SELECT incident_id FROM terminal_events WHERE terminal_id = $1 AND event_id = "
            "'A-storm'",
            {terminal});
        if (recorded != incident) recorded_mismatches += " " + terminal;
    }
    EXPECT_EQ(recorded_mismatches, "");

    // Every incident was offered to a unit or marked no_unit_available, once
    // its timeline has caught up (timeline writes run behind dispatching).
    const std::string undecided_sql =
        "SELECT count(*) FROM incidents i WHERE i.school_id LIKE 'S-S%' AND NOT EXISTS (SELECT 1 "
        "FROM incident_events e WHERE e.incident_id = i.id AND e.type IN ('offer_sent', "
        "'no_unit_available'))";
    EXPECT_TRUE(eventually([&] { return db_->scalar(undecided_sql) == "0"; }))
        << db_->scalar(undecided_sql) << " incidents neither offered nor marked no_unit_available";
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = "
                          "e.incident_id WHERE i.school_id LIKE 'S-S%' AND e.type = "
                          "'alarm_received'"),
              std::to_string(kSchools));
    // Each unit on duty got an offer, for one of the storm's incidents.
    for (auto& u : units) {
        auto offer = u->read_type("offer");
        ASSERT_TRUE(offer);
        EXPECT_TRUE(incidents.contains((*offer)["incident"].get<std::string>())) << offer->dump();
    }
    EXPECT_GE(std::stoi(db_->scalar("SELECT count(DISTINCT e.incident_id) FROM incident_events e "
                                    "JOIN incidents i ON i.id = e.incident_id WHERE i.school_id "
                                    "LIKE 'S-S%' AND e.type = 'offer_sent'")),
              kUnits);
}

}  // namespace
}  // namespace huxiao::test
