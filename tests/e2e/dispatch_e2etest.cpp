// Dispatching end to end (contract §3 status, §4 /ws/unit, §6 timeline):
// real huxiaod, real PostgreSQL, a terminal over mutual TLS and patrol units
// over WebSocket, all on loopback.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// S-1 at (30.5928, 114.3055); P-1 is about 1.5 km away, P-2 about 4 km.
const char* const kTwoUnits = R"json({
  "units": [
    {"id": "P-2", "callsign": "Patrol 2", "district": "D-1", "lat": 30.62, "lon": 114.33}
  ]
})json";

class Dispatch : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        std::ofstream(dir_ / "units.json") << kTwoUnits;
        auto r = run_huxiaod({"import", "--config", (dir_ / "huxiao.json").string(),
                              (dir_ / "units.json").string()});
        ASSERT_EQ(r.status, 0) << r.err;
        config()["dispatch"] = {{"offer_timeout_s", 20}, {"arrival_radius_m", 150}};
        start_server();
        tokens_["P-1"] = make_token("unit", "patrol-1", "P-1");
        tokens_["P-2"] = make_token("unit", "patrol-2", "P-2");
    }

    // A unit on duty: connected, at a position, available.
    std::unique_ptr<WsClient> unit(const std::string& id, double lat, double lon) {
        auto ws = std::make_unique<WsClient>(api_port(), certs_->server_ca());
        if (!ws->connect("/ws/unit", tokens_.at(id)))
            throw std::runtime_error(id + ": no WebSocket");
        if (!ws->read_type("welcome")) throw std::runtime_error(id + ": no welcome");
        ws->send(
            {{"type", "position"}, {"lat", lat}, {"lon", lon}, {"at", "2026-09-01T07:30:00Z"}});
        ws->send({{"type", "availability"}, {"status", "available"}});
        // The dispatcher handles one unit's messages in order, so once this
        // one is refused the position and availability above are in effect.
        ws->send({{"type", "arrived"}, {"incident", "I-sync"}});
        auto sync = ws->read_type("error");
        if (!sync || (*sync)["ref"] != "I-sync") throw std::runtime_error(id + ": not in service");
        return ws;
    }

    std::string raise_alarm(TerminalClient& t, const std::string& id,
                            const std::string& kind = "fire") {
        t.send({{"type", "alarm"}, {"id", id}, {"kind", kind}});
        auto ack = t.read_frame_of_type("ack");
        if (!ack) throw std::runtime_error("no ack for " + id);
        return (*ack)["incident"];
    }

    // The timeline as stored, waiting (bounded) until `last` has been written:
    // timeline writes run behind dispatching by design.
    std::vector<std::string> timeline(const std::string& incident, const std::string& last) {
        std::vector<std::string> rows;
        for (int i = 0; i < 200; ++i) {
            rows = db_->column(
                "SELECT type || coalesce(':' || unit_id, '') FROM incident_events WHERE "
                "incident_id = $1 "
                "ORDER BY seq",
                {incident});
            if (!rows.empty() && rows.back().rfind(last, 0) == 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return rows;
    }

    std::map<std::string, std::string> tokens_;
};

// Reads status frames until `state` arrives, collecting what came before.
std::optional<json> status_until(TerminalClient& t, const std::string& state,
                                 std::vector<std::string>& seen) {
    for (int i = 0; i < 20; ++i) {
        auto s = t.read_frame_of_type("status");
        if (!s) return std::nullopt;
        seen.push_back((*s)["state"]);
        if ((*s)["state"] == state) return s;
    }
    return std::nullopt;
}

TEST_F(Dispatch, DeclineEscalatesThenAcceptArriveByGeofenceClearResolves) {
    auto p1 = unit("P-1", 30.59, 114.29);
    auto p2 = unit("P-2", 30.62, 114.33);
    auto t = hello("T-1");
    const std::string incident = raise_alarm(*t, "A-1");

    // The nearest unit gets the offer.
    auto offer1 = p1->read_type("offer");
    ASSERT_TRUE(offer1);
    EXPECT_EQ((*offer1)["incident"], incident);
    EXPECT_EQ((*offer1)["kind"], "fire");
    EXPECT_EQ((*offer1)["drill"], false);
    EXPECT_EQ((*offer1)["school"]["id"], "S-1");
    EXPECT_EQ((*offer1)["expires_in_s"], 20);
    EXPECT_GT((*offer1)["eta_s"].get<int>(), 0);

    p1->send({{"type", "decline"}, {"incident", incident}, {"reason", "engaged elsewhere"}});
    auto offer2 = p2->read_type("offer");
    ASSERT_TRUE(offer2);
    EXPECT_EQ((*offer2)["incident"], incident);

    p2->send({{"type", "accept"}, {"incident", incident}});
    std::vector<std::string> seen;
    ASSERT_TRUE(status_until(*t, "accepted", seen));
    p2->send({{"type", "en_route"}, {"incident", incident}});
    ASSERT_TRUE(status_until(*t, "en_route", seen));
    // Driving up to the school gate: the geofence marks the arrival.
    p2->send({{"type", "position"}, {"lat", 30.5929}, {"lon", 114.3056}});
    auto on_scene = status_until(*t, "on_scene", seen);
    ASSERT_TRUE(on_scene);
    EXPECT_EQ((*on_scene)["unit"], "P-2");
    p2->send({{"type", "clear"}, {"incident", incident}, {"outcome", "resolved"}});
    ASSERT_TRUE(status_until(*t, "resolved", seen));
    EXPECT_EQ(seen.front(), "received");
    EXPECT_NE(std::find(seen.begin(), seen.end(), "dispatched"), seen.end());
    auto closed = p2->read_type("incident_closed");
    ASSERT_TRUE(closed);
    EXPECT_EQ((*closed)["incident"], incident);

    const auto rows = timeline(incident, "resolved");
    const std::vector<std::string> expected = {
        "alarm_received",   "offer_sent:P-1",    "offer_declined:P-1",
        "offer_sent:P-2",   "unit_accepted:P-2", "unit_en_route:P-2",
        "unit_arrived:P-2", "unit_cleared:P-2",  "resolved"};
    EXPECT_EQ(rows, expected);
    EXPECT_EQ(
        db_->scalar("SELECT details->>'source' FROM incident_events WHERE incident_id = $1 AND "
                    "type = 'unit_arrived'",
                    {incident}),
        "geofence");
    EXPECT_EQ(db_->scalar("SELECT state || ' ' || (first_arrival_at IS NOT NULL)::text || ' ' || "
                          "first_unit_id FROM incidents WHERE id = $1",
                          {incident}),
              "resolved true P-2");
}

TEST_F(Dispatch, ExpiredOfferEscalatesToTheNextUnit) {
    config()["dispatch"]["offer_timeout_s"] = 1;
    start_server();
    auto p1 = unit("P-1", 30.59, 114.29);
    auto p2 = unit("P-2", 30.62, 114.33);
    auto t = hello("T-1");
    const std::string incident = raise_alarm(*t, "A-1");
    ASSERT_TRUE(p1->read_type("offer"));
    // P-1 says nothing; after a second the offer is withdrawn and P-2 gets one.
    auto withdrawn = p1->read_type("offer_withdrawn");
    ASSERT_TRUE(withdrawn);
    EXPECT_EQ((*withdrawn)["reason"], "expired");
    auto offer2 = p2->read_type("offer");
    ASSERT_TRUE(offer2);
    EXPECT_EQ((*offer2)["incident"], incident);
    // Accepting the expired offer is refused.
    p1->send({{"type", "accept"}, {"incident", incident}});
    auto refused = p1->read_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "not_assigned");
    const auto rows = timeline(incident, "offer_sent:P-2");
    EXPECT_EQ(rows, (std::vector<std::string>{"alarm_received", "offer_sent:P-1",
                                              "offer_expired:P-1", "offer_sent:P-2"}));
}

TEST_F(Dispatch, NoUnitAvailableIsToldAndTheNextUnitToComeGetsTheOffer) {
    auto t = hello("T-1");
    const std::string incident = raise_alarm(*t, "A-1");
    std::vector<std::string> seen;
    ASSERT_TRUE(status_until(*t, "no_unit_available", seen));
    auto p1 = unit("P-1", 30.59, 114.29);
    auto offer = p1->read_type("offer");
    ASSERT_TRUE(offer);
    EXPECT_EQ((*offer)["incident"], incident);
    const auto rows = timeline(incident, "offer_sent:P-1");
    EXPECT_EQ(rows,
              (std::vector<std::string>{"alarm_received", "no_unit_available", "offer_sent:P-1"}));
}

TEST_F(Dispatch, UnitMessagesAboutOtherIncidentsAreRefused) {
    auto p1 = unit("P-1", 30.59, 114.29);
    p1->send({{"type", "arrived"}, {"incident", "I-nothing"}});
    auto e = p1->read_type("error");
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "not_assigned");
    p1->send_text("not json");
    auto bad = p1->read_type("error");
    ASSERT_TRUE(bad);
    EXPECT_EQ((*bad)["code"], "bad_frame");
}

TEST_F(Dispatch, UnitWebSocketNeedsAUnitToken) {
    WsClient anonymous(api_port(), certs_->server_ca());
    ASSERT_TRUE(anonymous.connect("/ws/unit"));
    anonymous.send({{"type", "auth"}, {"token", "hx_wrong"}});
    auto e = anonymous.read();
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["code"], "unauthorized");
    EXPECT_TRUE(anonymous.wait_closed());

    WsClient by_message(api_port(), certs_->server_ca());
    ASSERT_TRUE(by_message.connect("/ws/unit"));
    by_message.send({{"type", "auth"}, {"token", tokens_["P-1"]}});
    by_message.send({{"type", "arrived"}, {"incident", "I-x"}});
    auto welcome = by_message.read();
    ASSERT_TRUE(welcome);
    EXPECT_EQ((*welcome)["type"], "welcome");
    EXPECT_EQ((*welcome)["unit"], "P-1");
    auto answer = by_message.read();
    ASSERT_TRUE(answer);
    EXPECT_EQ((*answer)["code"], "not_assigned");  // authenticated: the message was handled

    auto dispatcher = make_token("dispatcher", "desk");
    WsClient wrong_role(api_port(), certs_->server_ca());
    ASSERT_TRUE(wrong_role.connect("/ws/unit", dispatcher));
    auto forbidden = wrong_role.read();
    ASSERT_TRUE(forbidden);
    EXPECT_EQ((*forbidden)["code"], "forbidden");
}

TEST_F(Dispatch, IncidentContinuesAfterKill9) {
    std::string incident;
    {
        auto p1 = unit("P-1", 30.59, 114.29);
        auto t = hello("T-1");
        incident = raise_alarm(*t, "A-1");
        ASSERT_TRUE(p1->read_type("offer"));
        p1->send({{"type", "accept"}, {"incident", incident}});
        std::vector<std::string> seen;
        ASSERT_TRUE(status_until(*t, "accepted", seen));
        ASSERT_EQ(timeline(incident, "unit_accepted").back(), "unit_accepted:P-1");
    }
    server().kill_hard();
    start_server();
    auto t = hello("T-1");
    auto p1 = unit("P-1", 30.59, 114.29);
    // The restored assignment goes on: arriving and clearing resolve it.
    p1->send({{"type", "arrived"}, {"incident", incident}});
    std::vector<std::string> seen;
    ASSERT_TRUE(status_until(*t, "on_scene", seen));
    p1->send({{"type", "clear"}, {"incident", incident}, {"outcome", "false alarm"}});
    ASSERT_TRUE(status_until(*t, "resolved", seen));
    const auto rows = timeline(incident, "resolved");
    EXPECT_EQ(rows,
              (std::vector<std::string>{"alarm_received", "offer_sent:P-1", "unit_accepted:P-1",
                                        "unit_arrived:P-1", "unit_cleared:P-1", "resolved"}));
    EXPECT_EQ(
        db_->scalar("SELECT details->>'source' FROM incident_events WHERE incident_id = $1 AND "
                    "type = 'unit_arrived'",
                    {incident}),
        "unit");
}

TEST_F(Dispatch, OfferOpenAcrossARestartExpiresAndEscalates) {
    config()["dispatch"]["offer_timeout_s"] = 2;
    start_server();
    std::string incident;
    {
        auto p1 = unit("P-1", 30.59, 114.29);
        auto t = hello("T-1");
        incident = raise_alarm(*t, "A-1");
        ASSERT_TRUE(p1->read_type("offer"));
        ASSERT_EQ(timeline(incident, "offer_sent").back(), "offer_sent:P-1");
    }
    server().kill_hard();
    // Down for longer than the offer's time: it counts as expired at restart.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    start_server();
    auto p2 = unit("P-2", 30.62, 114.33);
    auto offer = p2->read_type("offer");
    ASSERT_TRUE(offer);
    EXPECT_EQ((*offer)["incident"], incident);
    const auto rows = timeline(incident, "offer_sent:P-2");
    // P-2 was not connected yet when the expiry was noticed at restart.
    EXPECT_EQ(rows,
              (std::vector<std::string>{"alarm_received", "offer_sent:P-1", "offer_expired:P-1",
                                        "no_unit_available", "offer_sent:P-2"}));
}

}  // namespace
}  // namespace huxiao::test
