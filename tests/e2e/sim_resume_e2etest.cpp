// huxiao-sim after a restart (issue 15 item 2): the demo is stopped while one
// unit is on scene and another on its way, huxiaod restarts, and the simulator
// starts again. It must pick up both assignments and carry them to the end:
// the incident resolves, nothing stays "on scene" for ever. Real huxiaod, real
// PostgreSQL and the real huxiao-sim binary, on loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"
#include "tests/support/sim_process.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// S-1 of kSmallRegistry, and a point about 1 km north of it.
constexpr double kSchoolLat = 30.5928, kSchoolLon = 114.3055;
constexpr double kAwayLat = 30.5928 + 1000 / 111194.93;

class SimResume : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        // A second unit, and the simulator's registry: the units only (no
        // terminals to simulate, no guard post to drive to).
        json registry = json::parse(kSmallRegistry);
        registry["units"].push_back({{"id", "P-2"},
                                     {"callsign", "Patrol 2"},
                                     {"district", "D-1"},
                                     {"lat", 30.62},
                                     {"lon", 114.33}});
        std::ofstream(dir_ / "registry.json") << registry.dump();
        auto r = run_huxiaod({"import", "--config", (dir_ / "huxiao.json").string(),
                              (dir_ / "registry.json").string()});
        ASSERT_EQ(r.status, 0) << r.err;
        registry["terminals"] = json::array();
        registry["guard_posts"] = json::array();
        std::ofstream(dir_ / "sim-registry.json") << registry.dump();
        // Offers wait long enough for every step of the test.
        config()["dispatch"] = {{"offer_timeout_s", 120}, {"arrival_radius_m", 150}};
        start_server();
    }

    std::unique_ptr<WsClient> unit(const std::string& id, const std::string& token) {
        auto ws = std::make_unique<WsClient>(api_port(), certs_->server_ca());
        if (!ws->connect("/ws/unit", token)) throw std::runtime_error(id + ": no WebSocket");
        if (!ws->read_type("welcome")) throw std::runtime_error(id + ": no welcome");
        ws->send({{"type", "position"},
                  {"lat", kAwayLat},
                  {"lon", kSchoolLon},
                  {"at", "2026-09-01T07:30:00Z"}});
        return ws;
    }

    // The incident's timeline event types, in order.
    std::vector<std::string> timeline(const std::string& incident) {
        return db_->column(
            "SELECT type || coalesce(':' || unit_id, '') FROM incident_events "
            "WHERE incident_id = $1 ORDER BY seq",
            {incident});
    }

    bool wait_for_event(const std::string& incident, const std::string& event,
                        std::chrono::seconds within) {
        return eventually(
            [&] {
                const auto events = timeline(incident);
                return std::find(events.begin(), events.end(), event) != events.end();
            },
            within, std::chrono::milliseconds(200));
    }
};

TEST_F(SimResume, PicksUpOnSceneAndEnRouteAssignmentsAfterARestartAndFinishesThem) {
    const std::string p1_token = make_token("unit", "crew-1", "P-1");
    const std::string p2_token = make_token("unit", "crew-2", "P-2");
    auto p1 = unit("P-1", p1_token);
    auto p2 = unit("P-2", p2_token);
    auto terminal = hello("T-1");
    terminal->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "assault"}});  // needs two units
    auto ack = terminal->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    const std::string incident = (*ack)["incident"];
    for (auto* ws : {p1.get(), p2.get()}) {
        auto offer = ws->read_type("offer");
        ASSERT_TRUE(offer);
        ASSERT_EQ((*offer)["incident"], incident);
        ws->send({{"type", "accept"}, {"incident", incident}});
        ws->send({{"type", "en_route"}, {"incident", incident}});
    }
    // P-1 reaches the school (the geofence marks it on scene); P-2 is on its way.
    p1->send({{"type", "position"},
              {"lat", kSchoolLat},
              {"lon", kSchoolLon},
              {"at", "2026-09-01T07:31:00Z"}});
    ASSERT_TRUE(wait_for_event(incident, "unit_arrived:P-1", std::chrono::seconds(10)));
    ASSERT_TRUE(wait_for_event(incident, "unit_en_route:P-2", std::chrono::seconds(10)));

    // The demo stops: the units' connections go, then the server restarts.
    p1.reset();
    p2.reset();
    terminal.reset();
    ASSERT_EQ(server().terminate(), 0);
    start_server();

    // The simulator starts again against the restarted server.
    json sim_config = config();
    sim_config["terminal_listener"]["port"] = port();
    sim_config["api_listener"]["port"] = api_port();
    std::ofstream(dir_ / "sim.json") << sim_config.dump(2);
    SimProcess sim({"--config", (dir_ / "sim.json").string(), "--certs", certs_->dir().string(),
                    "--registry", (dir_ / "sim-registry.json").string(), "--alarm-every", "86400",
                    "--speed-kmh", "1000", "--decline-share", "0", "--seed", "15"},
                   dir_ / "sim.log");

    // P-1 stays on scene a while and clears; P-2 drives on, arrives and clears:
    // the incident resolves by itself.
    const bool resolved = wait_for_event(incident, "resolved", std::chrono::seconds(120));
    std::ifstream log_file(dir_ / "sim.log");
    const std::string log((std::istreambuf_iterator<char>(log_file)), {});
    ASSERT_TRUE(resolved) << "timeline: " << json(timeline(incident)).dump() << "\nsim log:\n"
                          << log;
    const auto events = timeline(incident);
    const auto count = [&](const std::string& e) {
        return std::count(events.begin(), events.end(), e);
    };
    EXPECT_EQ(count("unit_cleared:P-1"), 1) << json(events).dump();
    EXPECT_EQ(count("unit_arrived:P-2"), 1) << json(events).dump();
    EXPECT_EQ(count("unit_cleared:P-2"), 1) << json(events).dump();
    EXPECT_NE(log.find("P-1 resumes " + incident), std::string::npos) << log;
    EXPECT_NE(log.find("P-2 resumes " + incident), std::string::npos) << log;
    EXPECT_EQ(sim.stop(), 0) << log;
}

}  // namespace
}  // namespace huxiao::test
