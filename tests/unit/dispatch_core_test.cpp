// The dispatch state machine (common/dispatch): every transition and every race
// of docs/dispatch.md, driven with a fake clock, asserting the actions emitted
// (content and order where it matters) and the state left behind.
#include "common/dispatch/dispatch_core.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numbers>
#include <random>
#include <sstream>
#include <tuple>

#include "common/geo/brute_force_router.hpp"
#include "common/geo/nearest_unit_router.hpp"
#include "common/protocol/unit_protocol.hpp"

namespace huxiao::dispatch {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// Tuesday 2026-09-01 00:00Z = 08:00 in Shanghai (inside a 07:00-08:30 guard window).
const TimePoint kT0 = from_unix_micros(1788220800LL * 1000000);
const GeoPoint kS1{30.5928, 114.3055};

GeoPoint north_of(GeoPoint p, double metres) {
    return {p.lat + metres / (geo::kEarthRadiusM * std::numbers::pi / 180.0), p.lon};
}

// ---- looking at actions ---------------------------------------------------------

template <typename T>
std::vector<T> only(const std::vector<Action>& actions) {
    std::vector<T> out;
    for (const Action& a : actions) {
        if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
    }
    return out;
}

std::vector<std::string> timeline_types(const std::vector<Action>& actions) {
    std::vector<std::string> out;
    for (const AppendTimeline& t : only<AppendTimeline>(actions)) {
        out.emplace_back(to_string(t.type));
    }
    return out;
}

std::vector<AppendTimeline> events_of(const std::vector<Action>& actions, TimelineType type) {
    std::vector<AppendTimeline> out;
    for (const AppendTimeline& t : only<AppendTimeline>(actions)) {
        if (t.type == type) out.push_back(t);
    }
    return out;
}

// Messages of a given `type` sent to units, as "unit:incident[:reason]".
std::vector<std::string> sent(const std::vector<Action>& actions, const std::string& type) {
    std::vector<std::string> out;
    for (const SendToUnit& s : only<SendToUnit>(actions)) {
        std::string d;
        if (const auto* o = std::get_if<OfferMessage>(&s.message); o && type == "offer") {
            d = s.unit + ":" + o->incident;
        } else if (const auto* w = std::get_if<OfferWithdrawnMessage>(&s.message);
                   w && type == "offer_withdrawn") {
            d = s.unit + ":" + w->incident + ":" + std::string(to_string(w->reason));
        } else if (const auto* c = std::get_if<IncidentClosedMessage>(&s.message);
                   c && type == "incident_closed") {
            d = s.unit + ":" + c->incident;
        } else {
            continue;
        }
        out.push_back(d);
    }
    return out;
}

std::vector<std::string> statuses(const std::vector<Action>& actions) {
    std::vector<std::string> out;
    for (const PushStatus& p : only<PushStatus>(actions)) {
        std::string d = std::string(to_string(p.state));
        if (!p.unit.empty()) d += ":" + p.unit;
        out.push_back(d);
    }
    return out;
}

std::vector<std::string> errors(const std::vector<Action>& actions) {
    std::vector<std::string> out;
    for (const ReplyError& e : only<ReplyError>(actions)) {
        out.push_back((e.to == Peer::unit ? "unit " + e.unit : std::string("console")) + ":" +
                      e.code);
    }
    return out;
}

// A full rendering, for determinism checks and readable failures.
std::string describe(const std::vector<Action>& actions) {
    std::ostringstream os;
    for (const Action& a : actions) {
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, SendToUnit>) {
                    os << "send " << x.unit << " " << unit_protocol::encode(x.message);
                } else if constexpr (std::is_same_v<T, PushStatus>) {
                    os << "status " << x.school << " " << x.incident << " " << to_string(x.state)
                       << " " << x.unit << " " << x.eta_s.value_or(-1) << " "
                       << to_unix_micros(x.at);
                } else if constexpr (std::is_same_v<T, AppendTimeline>) {
                    os << "timeline " << x.incident << " " << to_unix_micros(x.at) << " "
                       << to_string(x.type) << " " << x.actor << " " << x.unit << " "
                       << x.details.dump();
                } else if constexpr (std::is_same_v<T, StartTimer>) {
                    os << "start " << x.key.incident << "/" << x.key.unit << "/" << x.key.seq << " "
                       << to_unix_micros(x.deadline);
                } else if constexpr (std::is_same_v<T, CancelTimer>) {
                    os << "cancel " << x.key.incident << "/" << x.key.unit << "/" << x.key.seq;
                } else if constexpr (std::is_same_v<T, ReplyError>) {
                    os << "error " << static_cast<int>(x.to) << " " << x.unit << " " << x.code
                       << " " << x.ref;
                } else {
                    os << "closed " << x.incident << " " << to_string(x.final_state);
                }
            },
            a);
        os << "\n";
    }
    return os.str();
}

// ---- fixture ------------------------------------------------------------------------

class DispatchCoreTest : public ::testing::Test {
  protected:
    DispatchCoreTest() {
        registry_.schools = {{"S-1", "No.1 Primary", "D-1", kS1},
                             {"S-2", "No.2 Middle", "D-1", north_of(kS1, -10000)}};
        // P-n waits n km north of S-1; G-1 (a guard post at S-1) 6 km north.
        for (int n = 1; n <= 5; ++n) {
            const std::string id = "P-" + std::to_string(n);
            spots_[id] = north_of(kS1, 1000.0 * n);
            registry_.units.push_back({id, "Patrol " + std::to_string(n), "D-1", spots_[id]});
        }
        spots_["G-1"] = north_of(kS1, 6000);
        registry_.units.push_back({"G-1", "Gate 1", "D-1", spots_["G-1"]});
        rebuild();
    }

    void rebuild() {
        core_ = std::make_unique<DispatchCore>(
            config_, registry_, std::make_unique<geo::NearestUnitRouter>(config_.router_options()));
    }

    void add_guard_post() {
        GuardPost p;
        p.school = "S-1";
        p.unit = "G-1";
        p.days = "mon-fri";
        p.weekday_mask = 0b0011111;
        p.windows = {{7 * 60, 8 * 60 + 30}};
        p.tz = "Asia/Shanghai";
        registry_.guard_posts.push_back(p);
        rebuild();
    }

    std::vector<Action> handle(const Event& e) { return core_->handle(e, now_); }
    void advance(seconds s) { now_ += s; }
    void advance(Micros us) { now_ += us; }

    // Connected and reporting from its spot.
    void online(const std::string& unit) {
        handle(UnitConnected{unit});
        const GeoPoint p = spots_.at(unit);
        handle(UnitPosition{unit, p.lat, p.lon});
    }
    void online_all() {
        for (const auto& [unit, spot] : spots_) online(unit);
    }
    std::vector<Action> move(const std::string& unit, GeoPoint p) {
        return handle(UnitPosition{unit, p.lat, p.lon});
    }

    std::vector<Action> alarm(const std::string& id, const std::string& kind = "medical",
                              const std::string& school = "S-1", bool drill = false) {
        return handle(AlarmIntaken{id, school, kind, drill, now_, true});
    }

    const Incident& incident(const std::string& id) {
        const Incident* inc = core_->incident(id);
        EXPECT_NE(inc, nullptr) << id;
        return *inc;
    }
    std::uint64_t seq(const std::string& incident_id, const std::string& unit) {
        const Offer* o = incident(incident_id).offer_for(unit);
        EXPECT_NE(o, nullptr) << unit;
        return o ? o->seq : 0;
    }
    std::vector<std::string> offered(const std::string& incident_id) {
        std::vector<std::string> out;
        for (const Offer& o : incident(incident_id).offers) out.push_back(o.unit);
        return out;
    }
    std::string unit_incident(const std::string& unit) { return core_->unit(unit)->incident; }

    // Alarm I-1 at S-1 (one place), accepted by P-1.
    void accepted_by_p1() {
        online_all();
        alarm("I-1");
        handle(UnitAccept{"P-1", "I-1"});
    }

    CoreConfig config_;
    Registry registry_;
    std::map<std::string, GeoPoint> spots_;
    std::unique_ptr<DispatchCore> core_;
    TimePoint now_ = kT0;
};

using Strings = std::vector<std::string>;

// ---- alarms and offers ----------------------------------------------------------------

TEST_F(DispatchCoreTest, NewAlarmOffersTheNearestUnit) {
    online_all();
    const auto a = alarm("I-1");
    EXPECT_EQ(statuses(a), (Strings{"received", "dispatched:P-1"}));
    EXPECT_EQ(timeline_types(a), (Strings{"offer_sent"}));
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1"}));

    const AppendTimeline t = events_of(a, TimelineType::offer_sent).at(0);
    EXPECT_EQ(t.incident, "I-1");
    EXPECT_EQ(t.at, now_);
    EXPECT_EQ(t.actor, "system");
    EXPECT_EQ(t.unit, "P-1");
    EXPECT_EQ(t.details.at("eta_s"), 117);  // 1 km x 1.3 at 40 km/h
    EXPECT_EQ(t.details.at("distance_m"), 1000);
    EXPECT_EQ(t.details.at("expires_in_s"), 20);
    EXPECT_EQ(t.details.at("rank"), "nearest");

    const auto timers = only<StartTimer>(a);
    ASSERT_EQ(timers.size(), 1u);
    EXPECT_EQ(timers[0].key, (OfferTimerKey{"I-1", "P-1", seq("I-1", "P-1")}));
    EXPECT_EQ(timers[0].deadline, now_ + seconds{20});

    const auto pushes = only<PushStatus>(a);
    EXPECT_EQ(pushes[0].school, "S-1");
    EXPECT_FALSE(pushes[0].eta_s.has_value());
    EXPECT_EQ(pushes[1].eta_s, 117);
    EXPECT_EQ(pushes[1].at, now_);

    EXPECT_EQ(unit_incident("P-1"), "I-1");
    EXPECT_EQ(core_->status_of(incident("I-1")), IncidentStatus::dispatched);
}

// The offer carries what contract §4 sends; its wire shape is checked in
// unit_protocol_test.cpp (OfferIsTheContractShape).
TEST_F(DispatchCoreTest, OfferMessageCarriesTheContractFields) {
    online_all();
    const auto a = alarm("I-1", "fire", "S-1", true);
    const auto msgs = only<SendToUnit>(a);
    ASSERT_EQ(msgs.size(), 1u);
    const auto& offer = std::get<OfferMessage>(msgs[0].message);
    EXPECT_EQ(offer.incident, "I-1");
    EXPECT_EQ(offer.kind, "fire");
    EXPECT_TRUE(offer.drill);
    EXPECT_EQ(offer.school, "S-1");
    EXPECT_EQ(offer.school_name, "No.1 Primary");
    ASSERT_TRUE(offer.school_location);
    EXPECT_EQ(offer.school_location->lat, kS1.lat);
    EXPECT_EQ(offer.school_location->lon, kS1.lon);
    EXPECT_EQ(offer.eta_s, 117);
    EXPECT_EQ(offer.expires_in_s, 20);
    const json expected = {
        {"type", "offer"},
        {"incident", "I-1"},
        {"kind", "fire"},
        {"drill", true},
        {"school", {{"id", "S-1"}, {"name", "No.1 Primary"}, {"lat", kS1.lat}, {"lon", kS1.lon}}},
        {"eta_s", 117},
        {"expires_in_s", 20}};
    EXPECT_EQ(json::parse(unit_protocol::encode(msgs[0].message)), expected);
}

TEST_F(DispatchCoreTest, ActionsComeInExecutionOrder) {
    online_all();
    const auto a = alarm("I-1");
    // received status, then for the offer: timeline, send, timer; then the status.
    ASSERT_EQ(a.size(), 5u);
    EXPECT_TRUE(std::holds_alternative<PushStatus>(a[0]));
    EXPECT_TRUE(std::holds_alternative<AppendTimeline>(a[1]));
    EXPECT_TRUE(std::holds_alternative<SendToUnit>(a[2]));
    EXPECT_TRUE(std::holds_alternative<StartTimer>(a[3]));
    EXPECT_TRUE(std::holds_alternative<PushStatus>(a[4]));
}

TEST_F(DispatchCoreTest, AssaultAndIntrusionNeedTwoUnits) {
    online_all();
    const auto a = alarm("I-1", "assault");
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1", "P-2:I-1"}));
    EXPECT_EQ(only<StartTimer>(a).size(), 2u);
    EXPECT_EQ(statuses(a), (Strings{"received", "dispatched:P-1"}));
    EXPECT_EQ(incident("I-1").places, 2);
    const auto b = alarm("I-2", "intrusion");
    EXPECT_EQ(sent(b, "offer"), (Strings{"P-3:I-2", "P-4:I-2"}));
}

TEST_F(DispatchCoreTest, UnitsRequiredComesFromTheConfig) {
    config_.units_required = {{"fire", 3}};
    rebuild();
    online_all();
    EXPECT_EQ(sent(alarm("I-1", "fire"), "offer").size(), 3u);
    EXPECT_EQ(sent(alarm("I-2", "assault"), "offer").size(), 1u);  // default 1 now
}

TEST_F(DispatchCoreTest, RepeatAlarmMakesNoNewOffers) {
    online_all();
    alarm("I-1");
    const auto a = handle(AlarmIntaken{"I-1", "S-1", "medical", false, now_, false});
    EXPECT_TRUE(a.empty()) << describe(a);
    EXPECT_EQ(offered("I-1"), (Strings{"P-1"}));
}

TEST_F(DispatchCoreTest, NewIncidentDeliveredTwiceIsIgnored) {
    online_all();
    alarm("I-1");
    const auto a = alarm("I-1");
    EXPECT_TRUE(a.empty()) << describe(a);
    EXPECT_EQ(core_->open_incidents().size(), 1u);
}

TEST_F(DispatchCoreTest, GuardPostUnitIsOfferedFirst) {
    add_guard_post();
    online_all();
    const auto a = alarm("I-1");
    EXPECT_EQ(sent(a, "offer"), (Strings{"G-1:I-1"}));
    EXPECT_EQ(events_of(a, TimelineType::offer_sent).at(0).details.at("rank"), "guard_post");
    // At 08:30 local the window has closed: nearest again.
    rebuild();
    now_ = kT0 + std::chrono::minutes{30};
    online_all();
    EXPECT_EQ(sent(alarm("I-2"), "offer"), (Strings{"P-1:I-2"}));
}

TEST_F(DispatchCoreTest, ABusyUnitIsNotOfferedAnotherIncident) {
    online_all();
    alarm("I-1");
    EXPECT_EQ(sent(alarm("I-2"), "offer"), (Strings{"P-2:I-2"}));
    handle(UnitAccept{"P-2", "I-2"});
    EXPECT_EQ(sent(alarm("I-3"), "offer"), (Strings{"P-3:I-3"}));
}

TEST_F(DispatchCoreTest, AlarmAtAnUnknownSchoolWaitsForADispatcher) {
    online_all();
    const auto a = alarm("I-1", "medical", "S-404");
    EXPECT_EQ(timeline_types(a), (Strings{"no_unit_available"}));
    EXPECT_EQ(statuses(a), (Strings{"received", "no_unit_available"}));
}

// ---- decline and expiry ------------------------------------------------------------------

TEST_F(DispatchCoreTest, DeclineOffersTheNextBestUnit) {
    online_all();
    alarm("I-1");
    const std::uint64_t s1 = seq("I-1", "P-1");
    advance(seconds{3});
    const auto a = handle(UnitDecline{"P-1", "I-1", "flat tyre"});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_declined", "offer_sent"}));
    const AppendTimeline d = events_of(a, TimelineType::offer_declined).at(0);
    EXPECT_EQ(d.actor, "P-1");
    EXPECT_EQ(d.unit, "P-1");
    EXPECT_EQ(d.details.at("reason"), "flat tyre");
    EXPECT_EQ(only<CancelTimer>(a).at(0).key, (OfferTimerKey{"I-1", "P-1", s1}));
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_TRUE(sent(a, "offer_withdrawn").empty());  // the unit said no itself
    EXPECT_EQ(statuses(a), (Strings{"dispatched:P-2"}));
    EXPECT_EQ(unit_incident("P-1"), "");
    EXPECT_EQ(incident("I-1").passed, (Strings{"P-1"}));
}

TEST_F(DispatchCoreTest, ExpiryByTimerOffersTheNextBestUnit) {
    online_all();
    alarm("I-1");
    const std::uint64_t s1 = seq("I-1", "P-1");
    advance(seconds{20});
    const auto a = handle(OfferTimerFired{"I-1", "P-1", s1});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_expired", "offer_sent"}));
    const AppendTimeline e = events_of(a, TimelineType::offer_expired).at(0);
    EXPECT_EQ(e.actor, "system");
    EXPECT_EQ(e.unit, "P-1");
    EXPECT_EQ(e.details.at("cause"), "timeout");
    EXPECT_EQ(sent(a, "offer_withdrawn"), (Strings{"P-1:I-1:expired"}));
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_EQ(statuses(a), (Strings{"dispatched:P-2"}));
    EXPECT_EQ(incident("I-1").passed, (Strings{"P-1"}));
}

TEST_F(DispatchCoreTest, TheDeadlineIsTheTruthNotTheTimer) {
    online_all();
    alarm("I-1");
    const std::uint64_t s1 = seq("I-1", "P-1");
    advance(seconds{19});
    EXPECT_TRUE(handle(Tick{}).empty());
    advance(seconds{1});  // exactly the deadline; the timer has not fired yet
    const auto a = handle(Tick{});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_expired", "offer_sent"}));
    EXPECT_EQ(only<CancelTimer>(a).at(0).key.seq, s1);  // the pending timer is disarmed
    // The late timer is then stale.
    EXPECT_TRUE(handle(OfferTimerFired{"I-1", "P-1", s1}).empty());
}

TEST_F(DispatchCoreTest, StaleTimersAreIgnored) {
    online_all();
    alarm("I-1");
    const std::uint64_t s1 = seq("I-1", "P-1");
    handle(UnitDecline{"P-1", "I-1", "busy"});
    EXPECT_TRUE(handle(OfferTimerFired{"I-1", "P-1", s1}).empty());
    EXPECT_TRUE(handle(OfferTimerFired{"I-1", "P-2", 9999}).empty());
    EXPECT_TRUE(handle(OfferTimerFired{"I-404", "P-2", 1}).empty());
    EXPECT_EQ(offered("I-1"), (Strings{"P-2"}));
}

TEST_F(DispatchCoreTest, AUnitThatPassedIsNotOfferedThatIncidentAgainButOthersYes) {
    online("P-1");
    online("P-2");
    alarm("I-1");
    handle(UnitDecline{"P-1", "I-1", "no"});
    handle(UnitDecline{"P-2", "I-1", "no"});
    EXPECT_TRUE(incident("I-1").offers.empty());
    // P-1 is free and nearest, but passed on I-1; a new incident gets it.
    EXPECT_EQ(sent(alarm("I-2"), "offer"), (Strings{"P-1:I-2"}));
    EXPECT_TRUE(incident("I-1").offers.empty());
}

TEST_F(DispatchCoreTest, NoUnitAvailableIsRecordedOnceAndTheIncidentWaits) {
    online("P-3");
    alarm("I-1");
    const auto a = handle(UnitDecline{"P-3", "I-1", "no"});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_declined", "no_unit_available"}));
    const AppendTimeline n = events_of(a, TimelineType::no_unit_available).at(0);
    EXPECT_EQ(n.actor, "system");
    EXPECT_EQ(n.details.at("missing"), 1);
    EXPECT_EQ(statuses(a), (Strings{"no_unit_available"}));
    advance(seconds{5});
    EXPECT_TRUE(handle(Tick{}).empty());
    EXPECT_TRUE(move("P-3", spots_["P-3"]).empty());
    EXPECT_TRUE(incident("I-1").short_of_units);
}

TEST_F(DispatchCoreTest, AWaitingIncidentGetsAnOfferWhenAUnitConnects) {
    const auto a = alarm("I-1");
    EXPECT_EQ(timeline_types(a), (Strings{"no_unit_available"}));
    EXPECT_EQ(statuses(a), (Strings{"received", "no_unit_available"}));
    advance(seconds{30});
    const auto b = handle(UnitConnected{"P-4"});
    EXPECT_EQ(timeline_types(b), (Strings{"offer_sent"}));
    EXPECT_EQ(sent(b, "offer"), (Strings{"P-4:I-1"}));
    EXPECT_EQ(statuses(b), (Strings{"dispatched:P-4"}));
    EXPECT_FALSE(incident("I-1").short_of_units);
    // Home position (never reported): 4 km.
    EXPECT_EQ(events_of(b, TimelineType::offer_sent).at(0).details.at("distance_m"), 4000);
}

TEST_F(DispatchCoreTest, WaitingIncidentsAreServedOldestFirst) {
    alarm("I-1");
    advance(seconds{1});
    alarm("I-2", "medical", "S-2");
    advance(seconds{1});
    const auto a = handle(UnitConnected{"P-1"});  // nearer to S-1 than S-2, but I-1 is older anyway
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1"}));
    // P-1 declines I-1: it is free again and I-2 (still waiting) gets it.
    const auto b = handle(UnitDecline{"P-1", "I-1", "no"});
    EXPECT_EQ(sent(b, "offer"), (Strings{"P-1:I-2"}));
    EXPECT_EQ(timeline_types(b), (Strings{"offer_declined", "no_unit_available", "offer_sent"}));
}

TEST_F(DispatchCoreTest, OlderWaitingIncidentWinsEvenIfTheUnitIsNearerTheNewer) {
    alarm("I-1", "medical", "S-2");  // 10 km south
    advance(seconds{1});
    alarm("I-2", "medical", "S-1");
    const auto a = handle(UnitConnected{"P-1"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1"}));
}

TEST_F(DispatchCoreTest, AUnitBackInServiceServesAWaitingIncident) {
    online("P-1");
    handle(UnitAvailability{"P-1", false});
    alarm("I-1");
    EXPECT_TRUE(incident("I-1").short_of_units);
    const auto a = handle(UnitAvailability{"P-1", true});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1"}));
}

TEST_F(DispatchCoreTest, StaleUnitsAreNotRoutableUntilTheyReport) {
    online("P-1");
    advance(seconds{121});
    const auto a = alarm("I-1");
    EXPECT_EQ(timeline_types(a), (Strings{"no_unit_available"}));
    const auto b = move("P-1", spots_["P-1"]);
    EXPECT_EQ(sent(b, "offer"), (Strings{"P-1:I-1"}));
}

TEST_F(DispatchCoreTest, StalenessStartsAtTheLastReportInclusive) {
    online("P-1");
    advance(seconds{120});  // exactly unit_stale_s: still fresh
    EXPECT_EQ(sent(alarm("I-1"), "offer"), (Strings{"P-1:I-1"}));
}

TEST_F(DispatchCoreTest, ConnectingCountsAsAReportAtTheLastKnownPosition) {
    online("P-1");
    move("P-1", north_of(kS1, 300));
    handle(UnitDisconnected{"P-1"});
    advance(seconds{600});
    handle(UnitConnected{"P-1"});
    const auto a = alarm("I-1");
    EXPECT_EQ(events_of(a, TimelineType::offer_sent).at(0).details.at("distance_m"), 300);
}

TEST_F(DispatchCoreTest, PartialShortageForATwoUnitAlarm) {
    online("P-1");
    const auto a = alarm("I-1", "assault");
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1"}));
    EXPECT_EQ(timeline_types(a), (Strings{"offer_sent", "no_unit_available"}));
    EXPECT_EQ(events_of(a, TimelineType::no_unit_available).at(0).details.at("missing"), 1);
    EXPECT_EQ(statuses(a), (Strings{"received", "dispatched:P-1"}));  // someone is coming
    const auto b = handle(UnitConnected{"P-2"});
    EXPECT_EQ(sent(b, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_FALSE(incident("I-1").short_of_units);
}

// ---- accept and the races around it ---------------------------------------------------------

TEST_F(DispatchCoreTest, AcceptAssignsTheUnit) {
    online_all();
    alarm("I-1");
    const std::uint64_t s1 = seq("I-1", "P-1");
    advance(seconds{4});
    const auto a = handle(UnitAccept{"P-1", "I-1"});
    EXPECT_EQ(only<CancelTimer>(a).at(0).key, (OfferTimerKey{"I-1", "P-1", s1}));
    EXPECT_EQ(timeline_types(a), (Strings{"unit_accepted"}));
    const AppendTimeline t = events_of(a, TimelineType::unit_accepted).at(0);
    EXPECT_EQ(t.actor, "P-1");
    EXPECT_EQ(t.unit, "P-1");
    EXPECT_EQ(t.at, now_);
    EXPECT_EQ(t.details.at("eta_s"), 117);
    EXPECT_FALSE(t.details.contains("withdrawn"));
    EXPECT_EQ(statuses(a), (Strings{"accepted:P-1"}));
    EXPECT_EQ(only<PushStatus>(a).at(0).eta_s, 117);
    const Incident& inc = incident("I-1");
    ASSERT_EQ(inc.assignments.size(), 1u);
    EXPECT_EQ(inc.assignments[0].progress, UnitProgress::accepted);
    EXPECT_EQ(inc.assignments[0].accepted_at, now_);
    EXPECT_TRUE(inc.offers.empty());
    EXPECT_EQ(unit_incident("P-1"), "I-1");
}

TEST_F(DispatchCoreTest, RepeatedAcceptChangesNothing) {
    accepted_by_p1();
    const auto a = handle(UnitAccept{"P-1", "I-1"});
    EXPECT_TRUE(a.empty()) << describe(a);
}

TEST_F(DispatchCoreTest, AcceptAfterExpiryIsRefused) {
    online_all();
    alarm("I-1");
    advance(seconds{20});
    handle(OfferTimerFired{"I-1", "P-1", seq("I-1", "P-1")});
    const auto a = handle(UnitAccept{"P-1", "I-1"});
    EXPECT_EQ(errors(a), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(only<ReplyError>(a).at(0).ref, "I-1");
    EXPECT_TRUE(timeline_types(a).empty());
    EXPECT_TRUE(incident("I-1").assignments.empty());
    EXPECT_EQ(offered("I-1"), (Strings{"P-2"}));
    EXPECT_EQ(unit_incident("P-1"), "");
}

TEST_F(DispatchCoreTest, AcceptArrivingAtTheDeadlineBeforeTheTimerIsRefused) {
    online_all();
    alarm("I-1");
    advance(seconds{20});
    const auto a = handle(UnitAccept{"P-1", "I-1"});
    // The offer expires first (deadline <= now), then the accept finds no offer.
    EXPECT_EQ(timeline_types(a), (Strings{"offer_expired", "offer_sent"}));
    EXPECT_EQ(errors(a), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(offered("I-1"), (Strings{"P-2"}));
}

TEST_F(DispatchCoreTest, AcceptOneMicrosecondBeforeTheDeadlineWins) {
    online_all();
    alarm("I-1");
    advance(seconds{20} - Micros{1});
    const auto a = handle(UnitAccept{"P-1", "I-1"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_accepted"}));
}

TEST_F(DispatchCoreTest, AcceptWithoutAnOfferIsRefused) {
    online_all();
    alarm("I-1");
    EXPECT_EQ(errors(handle(UnitAccept{"P-3", "I-1"})), (Strings{"unit P-3:not_assigned"}));
    EXPECT_EQ(errors(handle(UnitAccept{"P-3", "I-404"})), (Strings{"unit P-3:not_assigned"}));
    EXPECT_TRUE(incident("I-1").assignments.empty());
}

TEST_F(DispatchCoreTest, MessagesFromUnknownUnitsAreRefused) {
    online_all();
    alarm("I-1");
    EXPECT_EQ(errors(handle(UnitAccept{"X-9", "I-1"})), (Strings{"unit X-9:unknown_unit"}));
    EXPECT_EQ(errors(handle(UnitConnected{"X-9"})), (Strings{"unit X-9:unknown_unit"}));
    EXPECT_EQ(errors(handle(UnitPosition{"X-9", 30, 114})), (Strings{"unit X-9:unknown_unit"}));
    EXPECT_TRUE(handle(UnitDisconnected{"X-9"}).empty());
}

TEST_F(DispatchCoreTest, PositionsOutOfRangeAreRefused) {
    online("P-1");
    const auto a = handle(UnitPosition{"P-1", 91, 114});
    EXPECT_EQ(errors(a), (Strings{"unit P-1:bad_frame"}));
    EXPECT_TRUE(core_->unit("P-1")->reported);
    EXPECT_NEAR(core_->unit("P-1")->position.lat, spots_["P-1"].lat, 1e-12);
}

TEST_F(DispatchCoreTest, TwoUnitsAcceptingTheLastPlace) {
    online_all();
    alarm("I-1");  // router offer to P-1
    // A dispatcher also asks P-3 while P-1's offer is open: they compete.
    const auto c = handle(ConsoleAssign{"I-1", "P-3", "alice"});
    EXPECT_TRUE(errors(c).empty());
    EXPECT_EQ(sent(c, "offer"), (Strings{"P-3:I-1"}));
    EXPECT_EQ(events_of(c, TimelineType::offer_sent).at(0).actor, "alice");
    EXPECT_EQ(events_of(c, TimelineType::offer_sent).at(0).details.at("rank"), "console");
    EXPECT_EQ(incident("I-1").places, 1);
    const std::uint64_t s1 = seq("I-1", "P-1");

    advance(seconds{2});
    const auto a = handle(UnitAccept{"P-3", "I-1"});
    EXPECT_EQ(sent(a, "offer_withdrawn"), (Strings{"P-1:I-1:reassigned"}));
    const auto cancels = only<CancelTimer>(a);
    ASSERT_EQ(cancels.size(), 2u);
    EXPECT_EQ(cancels[1].key, (OfferTimerKey{"I-1", "P-1", s1}));
    EXPECT_EQ(events_of(a, TimelineType::unit_accepted).at(0).details.at("withdrawn"),
              json::array({"P-1"}));
    EXPECT_EQ(statuses(a), (Strings{"accepted:P-3"}));
    EXPECT_EQ(unit_incident("P-1"), "");
    EXPECT_FALSE(incident("I-1").has_passed("P-1"));  // withdrawn, not declined

    // P-1's accept crossed the withdrawal on the wire.
    const auto b = handle(UnitAccept{"P-1", "I-1"});
    EXPECT_EQ(errors(b), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(incident("I-1").assignments.size(), 1u);
}

TEST_F(DispatchCoreTest, BothUnitsOfATwoUnitAlarmAreAssigned) {
    online_all();
    alarm("I-1", "assault");
    EXPECT_TRUE(sent(handle(UnitAccept{"P-2", "I-1"}), "offer_withdrawn").empty());
    const auto a = handle(UnitAccept{"P-1", "I-1"});
    EXPECT_TRUE(sent(a, "offer_withdrawn").empty());
    EXPECT_EQ(incident("I-1").assignments.size(), 2u);
    // The school keeps hearing about the first unit to accept.
    EXPECT_TRUE(statuses(a).empty());
}

TEST_F(DispatchCoreTest, DeclineAfterAcceptBacksOutAndTheNextUnitIsOffered) {
    accepted_by_p1();
    advance(seconds{30});
    const auto a = handle(UnitDecline{"P-1", "I-1", "called away"});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_declined", "offer_sent"}));
    const AppendTimeline d = events_of(a, TimelineType::offer_declined).at(0);
    EXPECT_EQ(d.details.at("after_accept"), true);
    EXPECT_EQ(d.details.at("reason"), "called away");
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_EQ(statuses(a), (Strings{"dispatched:P-2"}));
    EXPECT_TRUE(incident("I-1").assignments.empty());
    EXPECT_TRUE(incident("I-1").has_passed("P-1"));
    EXPECT_EQ(unit_incident("P-1"), "");
    // And once backed out, it is not part of the incident any more.
    EXPECT_EQ(errors(handle(UnitEnRoute{"P-1", "I-1"})), (Strings{"unit P-1:not_assigned"}));
}

TEST_F(DispatchCoreTest, DeclineAfterArrivalIsRefused) {
    accepted_by_p1();
    handle(UnitArrived{"P-1", "I-1"});
    const auto a = handle(UnitDecline{"P-1", "I-1", "no"});
    EXPECT_EQ(errors(a), (Strings{"unit P-1:invalid_state"}));
    EXPECT_TRUE(timeline_types(a).empty());
    EXPECT_EQ(incident("I-1").assignments.at(0).progress, UnitProgress::on_scene);
}

// ---- en route, arrival ----------------------------------------------------------------------

TEST_F(DispatchCoreTest, EnRoute) {
    accepted_by_p1();
    advance(seconds{5});
    const auto a = handle(UnitEnRoute{"P-1", "I-1"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_en_route"}));
    EXPECT_EQ(events_of(a, TimelineType::unit_en_route).at(0).actor, "P-1");
    EXPECT_EQ(statuses(a), (Strings{"en_route:P-1"}));
    EXPECT_EQ(only<PushStatus>(a).at(0).eta_s, 117);
    EXPECT_EQ(incident("I-1").assignments[0].en_route_at, now_);
    EXPECT_TRUE(handle(UnitEnRoute{"P-1", "I-1"}).empty());  // repeated: nothing new
}

TEST_F(DispatchCoreTest, ProgressNeedsAnAssignmentNotJustAnOffer) {
    online_all();
    alarm("I-1");
    EXPECT_EQ(errors(handle(UnitEnRoute{"P-1", "I-1"})), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(errors(handle(UnitArrived{"P-1", "I-1"})), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(errors(handle(UnitClear{"P-1", "I-1", "x"})), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(errors(handle(UnitEnRoute{"P-2", "I-1"})), (Strings{"unit P-2:not_assigned"}));
    EXPECT_EQ(offered("I-1"), (Strings{"P-1"}));
}

TEST_F(DispatchCoreTest, ArrivedAsReportedByTheUnit) {
    accepted_by_p1();
    handle(UnitEnRoute{"P-1", "I-1"});
    advance(seconds{100});
    const auto a = handle(UnitArrived{"P-1", "I-1"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_arrived"}));
    const AppendTimeline t = events_of(a, TimelineType::unit_arrived).at(0);
    EXPECT_EQ(t.actor, "P-1");
    EXPECT_EQ(t.details, (json{{"source", "unit"}}));
    EXPECT_EQ(statuses(a), (Strings{"on_scene:P-1"}));
    EXPECT_FALSE(only<PushStatus>(a).at(0).eta_s.has_value());
    EXPECT_TRUE(handle(UnitArrived{"P-1", "I-1"}).empty());
}

TEST_F(DispatchCoreTest, ArrivalWithoutEnRouteIsFine) {
    accepted_by_p1();
    const auto a = handle(UnitArrived{"P-1", "I-1"});
    EXPECT_EQ(statuses(a), (Strings{"on_scene:P-1"}));
}

TEST_F(DispatchCoreTest, GeofenceMarksArrival) {
    accepted_by_p1();
    handle(UnitEnRoute{"P-1", "I-1"});
    const auto outside = move("P-1", north_of(kS1, 151));
    EXPECT_TRUE(timeline_types(outside).empty());
    // The ETA follows the unit, but a status is pushed only on a state change.
    EXPECT_TRUE(statuses(outside).empty());
    advance(seconds{1});
    const auto inside = move("P-1", north_of(kS1, 149));
    EXPECT_EQ(timeline_types(inside), (Strings{"unit_arrived"}));
    const AppendTimeline t = events_of(inside, TimelineType::unit_arrived).at(0);
    EXPECT_EQ(t.actor, "system");
    EXPECT_EQ(t.unit, "P-1");
    EXPECT_EQ(t.details.at("source"), "geofence");
    EXPECT_EQ(t.details.at("distance_m"), 149);
    EXPECT_EQ(statuses(inside), (Strings{"on_scene:P-1"}));
    // Later reports inside, and the unit's own "arrived", add nothing.
    EXPECT_TRUE(move("P-1", kS1).empty());
    EXPECT_TRUE(handle(UnitArrived{"P-1", "I-1"}).empty());
}

TEST_F(DispatchCoreTest, GeofenceIgnoresUnitsThatOnlyHaveAnOffer) {
    online_all();
    alarm("I-1");
    const auto a = move("P-1", kS1);
    EXPECT_TRUE(timeline_types(a).empty());
    EXPECT_EQ(incident("I-1").offers.size(), 1u);
}

TEST_F(DispatchCoreTest, GeofenceRadiusComesFromTheConfig) {
    config_.arrival_radius_m = 500;
    rebuild();
    accepted_by_p1();
    EXPECT_EQ(timeline_types(move("P-1", north_of(kS1, 499))), (Strings{"unit_arrived"}));
}

TEST_F(DispatchCoreTest, AUnitAcceptingAtTheGateHasArrived) {
    add_guard_post();
    online_all();
    move("G-1", north_of(kS1, 20));
    alarm("I-1");
    const auto a = handle(UnitAccept{"G-1", "I-1"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_accepted", "unit_arrived"}));
    EXPECT_EQ(events_of(a, TimelineType::unit_arrived).at(0).details.at("source"), "geofence");
    EXPECT_EQ(statuses(a), (Strings{"on_scene:G-1"}));
}

// ---- clear and resolution -----------------------------------------------------------------

TEST_F(DispatchCoreTest, ClearAfterArrivalResolvesTheIncident) {
    accepted_by_p1();
    handle(UnitArrived{"P-1", "I-1"});
    advance(seconds{600});
    const auto a = handle(UnitClear{"P-1", "I-1", "resolved"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_cleared", "resolved"}));
    const AppendTimeline c = events_of(a, TimelineType::unit_cleared).at(0);
    EXPECT_EQ(c.actor, "P-1");
    EXPECT_EQ(c.details, (json{{"outcome", "resolved"}, {"arrived", true}}));
    const AppendTimeline r = events_of(a, TimelineType::resolved).at(0);
    EXPECT_EQ(r.actor, "system");
    EXPECT_EQ(r.unit, "");
    EXPECT_EQ(r.details.at("source"), "units_cleared");
    EXPECT_EQ(sent(a, "incident_closed"), (Strings{"P-1:I-1"}));
    EXPECT_EQ(statuses(a), (Strings{"resolved"}));
    const auto closed = only<IncidentClosed>(a);
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(closed[0].incident, "I-1");
    EXPECT_EQ(closed[0].final_state, IncidentStatus::resolved);
    EXPECT_TRUE(std::holds_alternative<IncidentClosed>(a.back()));
    EXPECT_EQ(core_->incident("I-1"), nullptr);
    EXPECT_EQ(unit_incident("P-1"), "");
    // Free again: the next alarm goes to P-1 (reporting; the others went stale).
    move("P-1", spots_["P-1"]);
    EXPECT_EQ(sent(alarm("I-2"), "offer"), (Strings{"P-1:I-2"}));
}

TEST_F(DispatchCoreTest, AfterCloseUnitMessagesAreNotAssigned) {
    accepted_by_p1();
    handle(UnitArrived{"P-1", "I-1"});
    handle(UnitClear{"P-1", "I-1", "ok"});
    EXPECT_EQ(errors(handle(UnitClear{"P-1", "I-1", "ok"})), (Strings{"unit P-1:not_assigned"}));
    EXPECT_EQ(errors(handle(UnitAccept{"P-1", "I-1"})), (Strings{"unit P-1:not_assigned"}));
}

TEST_F(DispatchCoreTest, TwoUnitIncidentResolvesWhenBothHaveCleared) {
    online_all();
    alarm("I-1", "assault");
    handle(UnitAccept{"P-1", "I-1"});
    handle(UnitAccept{"P-2", "I-1"});
    handle(UnitArrived{"P-1", "I-1"});
    const auto a = handle(UnitClear{"P-1", "I-1", "done"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_cleared"}));
    EXPECT_TRUE(statuses(a).empty());  // still on scene (P-1 was there)
    EXPECT_EQ(unit_incident("P-1"), "");
    // A cleared unit is not part of the incident any more.
    EXPECT_EQ(errors(handle(UnitEnRoute{"P-1", "I-1"})), (Strings{"unit P-1:not_assigned"}));
    handle(UnitArrived{"P-2", "I-1"});
    const auto b = handle(UnitClear{"P-2", "I-1", "done"});
    EXPECT_EQ(timeline_types(b), (Strings{"unit_cleared", "resolved"}));
    EXPECT_EQ(sent(b, "incident_closed"), (Strings{"P-1:I-1", "P-2:I-1"}));
}

TEST_F(DispatchCoreTest, TheSecondUnitMayClearWithoutArrivingOnceTheFirstArrived) {
    online_all();
    alarm("I-1", "assault");
    handle(UnitAccept{"P-1", "I-1"});
    handle(UnitAccept{"P-2", "I-1"});
    handle(UnitArrived{"P-1", "I-1"});
    handle(UnitClear{"P-1", "I-1", "done"});
    const auto a = handle(UnitClear{"P-2", "I-1", "not needed"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_cleared", "resolved"}));
    EXPECT_EQ(events_of(a, TimelineType::unit_cleared).at(0).details.at("arrived"), false);
}

TEST_F(DispatchCoreTest, ClearWithoutArrivalBacksOut) {
    accepted_by_p1();
    const auto a = handle(UnitClear{"P-1", "I-1", "diverted"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_cleared", "offer_sent"}));
    EXPECT_EQ(events_of(a, TimelineType::unit_cleared).at(0).details.at("arrived"), false);
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_TRUE(only<IncidentClosed>(a).empty());
    EXPECT_TRUE(incident("I-1").has_passed("P-1"));
}

TEST_F(DispatchCoreTest, ResolutionWithdrawsOffersStillOpen) {
    online("P-1");
    alarm("I-1", "assault");  // one offer, one place short
    handle(UnitAccept{"P-1", "I-1"});
    online("P-2");  // the second place is offered now
    ASSERT_EQ(offered("I-1"), (Strings{"P-2"}));
    const std::uint64_t s2 = seq("I-1", "P-2");
    handle(UnitArrived{"P-1", "I-1"});
    const auto a = handle(UnitClear{"P-1", "I-1", "handled"});
    EXPECT_EQ(timeline_types(a), (Strings{"unit_cleared", "resolved"}));
    EXPECT_EQ(sent(a, "offer_withdrawn"), (Strings{"P-2:I-1:cancelled"}));
    EXPECT_EQ(only<CancelTimer>(a).at(0).key, (OfferTimerKey{"I-1", "P-2", s2}));
    EXPECT_EQ(unit_incident("P-2"), "");
}

TEST_F(DispatchCoreTest, AUnitThatWentOutOfServiceStaysOutAfterClear) {
    accepted_by_p1();
    handle(UnitArrived{"P-1", "I-1"});
    handle(UnitAvailability{"P-1", false});
    EXPECT_EQ(incident("I-1").assignments.size(), 1u);  // still assigned
    handle(UnitClear{"P-1", "I-1", "arrest"});
    EXPECT_EQ(sent(alarm("I-2"), "offer"), (Strings{"P-2:I-2"}));
}

// ---- disconnects and availability --------------------------------------------------------

TEST_F(DispatchCoreTest, DisconnectWithAnOpenOfferExpiresItAndEscalates) {
    online_all();
    alarm("I-1");
    const std::uint64_t s1 = seq("I-1", "P-1");
    const auto a = handle(UnitDisconnected{"P-1"});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_expired", "offer_sent"}));
    EXPECT_EQ(events_of(a, TimelineType::offer_expired).at(0).details.at("cause"), "disconnected");
    EXPECT_EQ(only<CancelTimer>(a).at(0).key, (OfferTimerKey{"I-1", "P-1", s1}));
    EXPECT_TRUE(sent(a, "offer_withdrawn").empty());  // nobody to tell
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_TRUE(incident("I-1").has_passed("P-1"));
}

TEST_F(DispatchCoreTest, DisconnectWhileAssignedKeepsTheAssignment) {
    accepted_by_p1();
    const auto a = handle(UnitDisconnected{"P-1"});
    EXPECT_TRUE(a.empty()) << describe(a);
    EXPECT_EQ(unit_incident("P-1"), "I-1");
    EXPECT_EQ(incident("I-1").assignments.size(), 1u);
    advance(seconds{300});
    handle(UnitConnected{"P-1"});
    EXPECT_EQ(statuses(handle(UnitArrived{"P-1", "I-1"})), (Strings{"on_scene:P-1"}));
}

TEST_F(DispatchCoreTest, DisconnectedUnitsAreNotRoutable) {
    online("P-1");
    online("P-2");
    handle(UnitDisconnected{"P-1"});
    EXPECT_EQ(sent(alarm("I-1"), "offer"), (Strings{"P-2:I-1"}));
}

TEST_F(DispatchCoreTest, OutOfServiceWithAnOpenOfferDeclinesIt) {
    online_all();
    alarm("I-1");
    const auto a = handle(UnitAvailability{"P-1", false});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_declined", "offer_sent"}));
    EXPECT_EQ(events_of(a, TimelineType::offer_declined).at(0).details.at("reason"),
              "out_of_service");
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_FALSE(core_->unit("P-1")->available);
}

TEST_F(DispatchCoreTest, OutOfServiceWhileAssignedKeepsTheAssignment) {
    accepted_by_p1();
    const auto a = handle(UnitAvailability{"P-1", false});
    EXPECT_TRUE(a.empty()) << describe(a);
    EXPECT_EQ(incident("I-1").assignments.size(), 1u);
}

// ---- console ----------------------------------------------------------------------------

TEST_F(DispatchCoreTest, CancelWhileUnitsAreOnTheirWay) {
    online_all();
    alarm("I-1", "assault");
    handle(UnitAccept{"P-1", "I-1"});
    handle(UnitEnRoute{"P-1", "I-1"});
    const std::uint64_t s2 = seq("I-1", "P-2");  // P-2's offer still open
    alarm("I-2", "medical", "S-2");              // takes P-3
    handle(UnitDecline{"P-3", "I-2", "no"});     // I-2 moves on to P-4 ...
    handle(UnitDecline{"P-4", "I-2", "no"});
    handle(UnitDecline{"P-5", "I-2", "no"});
    handle(UnitDecline{"G-1", "I-2", "no"});  // ... and waits for units
    ASSERT_TRUE(incident("I-2").short_of_units);

    advance(seconds{10});  // P-2's offer (20 s) still open
    const auto a = handle(ConsoleCancel{"I-1", "alice", "pressed by mistake"});
    EXPECT_TRUE(errors(a).empty());
    const AppendTimeline c = events_of(a, TimelineType::cancelled).at(0);
    EXPECT_EQ(c.actor, "alice");
    EXPECT_EQ(c.details.at("reason"), "pressed by mistake");
    EXPECT_EQ(c.details.at("units"), json::array({"P-1"}));
    EXPECT_EQ(sent(a, "offer_withdrawn"), (Strings{"P-2:I-1:cancelled"}));
    EXPECT_EQ(sent(a, "incident_closed"), (Strings{"P-1:I-1"}));
    EXPECT_EQ(only<CancelTimer>(a).at(0).key, (OfferTimerKey{"I-1", "P-2", s2}));
    EXPECT_EQ(only<IncidentClosed>(a).at(0).final_state, IncidentStatus::cancelled);
    EXPECT_EQ(core_->incident("I-1"), nullptr);
    // The freed units go straight to the waiting incident (nearest to S-2 first).
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-2"}));
    EXPECT_EQ(statuses(a), (Strings{"cancelled", "dispatched:P-1"}));
    EXPECT_EQ(only<PushStatus>(a).at(0).school, "S-1");
    EXPECT_EQ(only<PushStatus>(a).at(1).school, "S-2");
    EXPECT_EQ(unit_incident("P-2"), "");
}

TEST_F(DispatchCoreTest, ConsoleResolveClosesTheIncident) {
    accepted_by_p1();
    const auto a = handle(ConsoleResolve{"I-1", "bob", "handled by phone"});
    EXPECT_EQ(timeline_types(a), (Strings{"resolved"}));
    const AppendTimeline r = events_of(a, TimelineType::resolved).at(0);
    EXPECT_EQ(r.actor, "bob");
    EXPECT_EQ(r.details, (json{{"source", "console"}, {"note", "handled by phone"}}));
    EXPECT_EQ(sent(a, "incident_closed"), (Strings{"P-1:I-1"}));
    EXPECT_EQ(statuses(a), (Strings{"resolved"}));
    EXPECT_EQ(core_->incident("I-1"), nullptr);
    EXPECT_EQ(unit_incident("P-1"), "");
}

// Contract 1.1 district isolation: the events of the step that closes an
// incident are published after the core forgot it, so they carry its school
// and district themselves.
TEST_F(DispatchCoreTest, ClosingEventsCarryTheirSchoolAndDistrict) {
    accepted_by_p1();
    handle(UnitArrived{"P-1", "I-1"});
    const auto a = handle(UnitClear{"P-1", "I-1", "all well"});
    ASSERT_EQ(core_->incident("I-1"), nullptr);
    ASSERT_EQ(timeline_types(a), (Strings{"unit_cleared", "resolved"}));
    for (const AppendTimeline& t : only<AppendTimeline>(a)) {
        EXPECT_EQ(t.school, "S-1") << to_string(t.type);
        EXPECT_EQ(t.district, "D-1") << to_string(t.type);
        EXPECT_FALSE(t.drill);
    }
    const IncidentClosed closed = only<IncidentClosed>(a).at(0);
    EXPECT_EQ(closed.school, "S-1");
    EXPECT_EQ(closed.district, "D-1");
}

TEST_F(DispatchCoreTest, AnIncidentAtAnUnknownSchoolHasNoDistrict) {
    online_all();
    alarm("I-1", "medical", "S-404", true);
    const auto closing = handle(ConsoleCancel{"I-1", "alice", "test"});
    const AppendTimeline c = events_of(closing, TimelineType::cancelled).at(0);
    EXPECT_EQ(c.school, "S-404");
    EXPECT_EQ(c.district, "");  // publishers treat this as "no education console"
    EXPECT_TRUE(c.drill);
}

// The database recorded the alarm under an older incident (an alarm id it
// knew from before a restart): the incident intake opened is withdrawn.
TEST_F(DispatchCoreTest, AlarmRecordedUnderAnotherIncidentCancelsTheProposedOne) {
    accepted_by_p1();
    const auto a = handle(AlarmReconciled{"I-1", "I-0"});
    EXPECT_TRUE(errors(a).empty());
    const AppendTimeline c = events_of(a, TimelineType::cancelled).at(0);
    EXPECT_EQ(c.actor, "system");
    EXPECT_EQ(c.details.at("reason"), "duplicate of I-0");
    EXPECT_EQ(c.details.at("units"), json::array({"P-1"}));
    EXPECT_EQ(sent(a, "incident_closed"), (Strings{"P-1:I-1"}));
    EXPECT_EQ(only<IncidentClosed>(a).at(0).final_state, IncidentStatus::cancelled);
    EXPECT_EQ(statuses(a), (Strings{"cancelled"}));
    EXPECT_EQ(core_->incident("I-1"), nullptr);
    EXPECT_EQ(unit_incident("P-1"), "");
}

TEST_F(DispatchCoreTest, AlarmRecordedAsProposedOrForAClosedIncidentChangesNothing) {
    accepted_by_p1();
    EXPECT_EQ(describe(handle(AlarmReconciled{"I-1", "I-1"})), "");
    EXPECT_NE(core_->incident("I-1"), nullptr);
    EXPECT_EQ(describe(handle(AlarmReconciled{"I-9", "I-0"})), "");  // no error either
}

TEST_F(DispatchCoreTest, ConsoleAcknowledgeIsRecordedOnce) {
    online_all();
    alarm("I-1");
    const auto a = handle(ConsoleAcknowledge{"I-1", "alice"});
    EXPECT_EQ(timeline_types(a), (Strings{"console_acknowledged"}));
    EXPECT_EQ(events_of(a, TimelineType::console_acknowledged).at(0).actor, "alice");
    EXPECT_TRUE(incident("I-1").acknowledged);
    const auto b = handle(ConsoleAcknowledge{"I-1", "bob"});
    EXPECT_TRUE(b.empty()) << describe(b);
}

TEST_F(DispatchCoreTest, ConsoleNote) {
    online_all();
    alarm("I-1");
    const auto a = handle(ConsoleNote{"I-1", "alice", "caller says two people"});
    EXPECT_EQ(timeline_types(a), (Strings{"note"}));
    const AppendTimeline n = events_of(a, TimelineType::note).at(0);
    EXPECT_EQ(n.actor, "alice");
    EXPECT_EQ(n.details, (json{{"text", "caller says two people"}}));
}

TEST_F(DispatchCoreTest, ConsoleCommandsOnUnknownIncidentsAreRefused) {
    const Strings not_found{"console:not_found"};
    EXPECT_EQ(errors(handle(ConsoleCancel{"I-9", "a", "r"})), not_found);
    EXPECT_EQ(errors(handle(ConsoleResolve{"I-9", "a", "n"})), not_found);
    EXPECT_EQ(errors(handle(ConsoleAssign{"I-9", "P-1", "a"})), not_found);
    EXPECT_EQ(errors(handle(ConsoleAcknowledge{"I-9", "a"})), not_found);
    EXPECT_EQ(errors(handle(ConsoleNote{"I-9", "a", "t"})), not_found);
    EXPECT_EQ(only<ReplyError>(handle(ConsoleNote{"I-9", "a", "t"})).at(0).ref, "I-9");
}

TEST_F(DispatchCoreTest, ConsoleAssignRefusals) {
    online_all();
    alarm("I-1");  // P-1 offered
    alarm("I-2");  // P-2 offered
    handle(UnitDisconnected{"P-5"});
    handle(UnitAvailability{"P-4", false});
    EXPECT_EQ(errors(handle(ConsoleAssign{"I-1", "X-9", "a"})), (Strings{"console:unknown_unit"}));
    EXPECT_EQ(errors(handle(ConsoleAssign{"I-1", "P-1", "a"})),
              (Strings{"console:already_assigned"}));
    EXPECT_EQ(errors(handle(ConsoleAssign{"I-1", "P-2", "a"})), (Strings{"console:unit_busy"}));
    EXPECT_EQ(errors(handle(ConsoleAssign{"I-1", "P-5", "a"})),
              (Strings{"console:unit_unavailable"}));
    EXPECT_EQ(errors(handle(ConsoleAssign{"I-1", "P-4", "a"})),
              (Strings{"console:unit_unavailable"}));
    EXPECT_EQ(offered("I-1"), (Strings{"P-1"}));
}

TEST_F(DispatchCoreTest, ConsoleAssignOverridesAnEarlierDecline) {
    online_all();
    alarm("I-1");
    handle(UnitDecline{"P-1", "I-1", "no"});
    handle(UnitDecline{"P-2", "I-1", "no"});  // P-3 offered now
    const auto a = handle(ConsoleAssign{"I-1", "P-1", "alice"});
    EXPECT_TRUE(errors(a).empty());
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-1"}));
    EXPECT_EQ(offered("I-1"), (Strings{"P-3", "P-1"}));
}

TEST_F(DispatchCoreTest, ConsoleAssignFillsAWaitingIncident) {
    online("P-1");
    handle(UnitAvailability{"P-1", false});
    alarm("I-1");
    handle(UnitAvailability{"P-1", true});  // offered automatically
    handle(UnitDecline{"P-1", "I-1", "no"});
    online("P-2");  // offered automatically too
    handle(UnitDecline{"P-2", "I-1", "no"});
    ASSERT_TRUE(incident("I-1").short_of_units);
    const auto a = handle(ConsoleAssign{"I-1", "P-2", "alice"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
    EXPECT_EQ(statuses(a), (Strings{"dispatched:P-2"}));
    EXPECT_FALSE(incident("I-1").short_of_units);
    EXPECT_EQ(incident("I-1").places, 1);
}

TEST_F(DispatchCoreTest, ConsoleAssignAsksForReinforcementWhenEveryPlaceIsTaken) {
    accepted_by_p1();
    const auto a = handle(ConsoleAssign{"I-1", "P-4", "alice"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-4:I-1"}));
    EXPECT_EQ(events_of(a, TimelineType::offer_sent).at(0).details.at("reinforcement"), true);
    EXPECT_EQ(incident("I-1").places, 2);
    handle(UnitAccept{"P-4", "I-1"});
    handle(UnitArrived{"P-1", "I-1"});
    EXPECT_TRUE(only<IncidentClosed>(handle(UnitClear{"P-1", "I-1", "ok"})).empty());
    handle(UnitArrived{"P-4", "I-1"});
    EXPECT_EQ(only<IncidentClosed>(handle(UnitClear{"P-4", "I-1", "ok"})).size(), 1u);
}

TEST_F(DispatchCoreTest, DeclinedReinforcementIsNotReplacedAutomatically) {
    accepted_by_p1();
    handle(ConsoleAssign{"I-1", "P-4", "alice"});
    const auto a = handle(UnitDecline{"P-4", "I-1", "no"});
    // The place the dispatcher added stays: the router fills it with the next best.
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:I-1"}));
}

// ---- status pushes -------------------------------------------------------------------------

TEST_F(DispatchCoreTest, StatusIsPushedOnlyOnChange) {
    accepted_by_p1();
    EXPECT_TRUE(statuses(move("P-1", north_of(kS1, 800))).empty());
    EXPECT_TRUE(statuses(handle(Tick{})).empty());
    const auto a = handle(UnitEnRoute{"P-1", "I-1"});
    ASSERT_EQ(statuses(a), (Strings{"en_route:P-1"}));
    // ETA from where the unit is now: 800 m.
    EXPECT_EQ(only<PushStatus>(a).at(0).eta_s, 94);
}

TEST_F(DispatchCoreTest, StatusNeverGoesBackWhileAUnitIsOnScene) {
    online_all();
    alarm("I-1", "assault");
    handle(UnitAccept{"P-1", "I-1"});
    EXPECT_EQ(statuses(handle(UnitArrived{"P-1", "I-1"})), (Strings{"on_scene:P-1"}));
    EXPECT_TRUE(statuses(handle(UnitAccept{"P-2", "I-1"})).empty());
    EXPECT_TRUE(statuses(handle(UnitEnRoute{"P-2", "I-1"})).empty());
    EXPECT_TRUE(statuses(handle(UnitClear{"P-1", "I-1", "ok"})).empty());
    EXPECT_EQ(core_->status_of(incident("I-1")), IncidentStatus::on_scene);
}

// ---- restart -------------------------------------------------------------------------------

Incident restored_incident(TimePoint received, TimePoint sent, int timeout_s) {
    Incident inc;
    inc.id = "I-7";
    inc.school = "S-1";
    inc.kind = "medical";
    inc.received_at = received;
    inc.places = 1;
    inc.offers.push_back(Offer{"P-2", 41, sent, sent + seconds{timeout_s}, 234, false});
    inc.passed = {"P-1"};
    return inc;
}

TEST_F(DispatchCoreTest, RestoredOfferKeepsItsDeadlineAndIsResentOnReconnect) {
    const auto r = core_->restore(restored_incident(kT0 - seconds{10}, kT0 - seconds{5}, 20));
    ASSERT_EQ(only<StartTimer>(r).size(), 1u);
    EXPECT_EQ(only<StartTimer>(r)[0].key, (OfferTimerKey{"I-7", "P-2", 41}));
    EXPECT_EQ(only<StartTimer>(r)[0].deadline, kT0 + seconds{15});
    EXPECT_EQ(unit_incident("P-2"), "I-7");

    EXPECT_TRUE(handle(Tick{}).empty());  // nothing new: the school already knows
    advance(seconds{4});
    const auto a = handle(UnitConnected{"P-2"});
    ASSERT_EQ(sent(a, "offer"), (Strings{"P-2:I-7"}));
    EXPECT_EQ(std::get<OfferMessage>(only<SendToUnit>(a)[0].message).expires_in_s, 11);
    EXPECT_EQ(std::get<OfferMessage>(only<SendToUnit>(a)[0].message).eta_s, 234);
    EXPECT_TRUE(timeline_types(a).empty());  // a resend, not a new offer
    EXPECT_EQ(timeline_types(handle(UnitAccept{"P-2", "I-7"})), (Strings{"unit_accepted"}));
}

TEST_F(DispatchCoreTest, OfferThatRanOutWhileTheServerWasDownExpiresAtTheFirstEvent) {
    online_all();  // before the restore: units reconnected fast
    core_->restore(restored_incident(kT0 - seconds{60}, kT0 - seconds{50}, 20));
    const auto a = handle(Tick{});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_expired", "offer_sent"}));
    EXPECT_EQ(events_of(a, TimelineType::offer_expired).at(0).unit, "P-2");
    EXPECT_EQ(sent(a, "offer_withdrawn"), (Strings{"P-2:I-7:expired"}));
    // P-1 had passed before the restart, P-2 just expired: P-3 is next.
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-3:I-7"}));
    // New offers continue the restored sequence numbers.
    EXPECT_GT(seq("I-7", "P-3"), 41u);
}

TEST_F(DispatchCoreTest, RestoredAssignmentContinues) {
    Incident inc;
    inc.id = "I-8";
    inc.school = "S-1";
    inc.kind = "medical";
    inc.received_at = kT0 - seconds{100};
    Assignment a;
    a.unit = "P-3";
    a.progress = UnitProgress::en_route;
    a.accepted_at = kT0 - seconds{90};
    a.en_route_at = kT0 - seconds{80};
    inc.assignments.push_back(a);
    EXPECT_TRUE(core_->restore(inc).empty());
    EXPECT_EQ(incident("I-8").pushed_state, IncidentStatus::en_route);
    online_all();
    EXPECT_EQ(unit_incident("P-3"), "I-8");
    EXPECT_EQ(sent(alarm("I-9"), "offer"), (Strings{"P-1:I-9"}));
    const auto b = move("P-3", kS1);
    EXPECT_EQ(timeline_types(b), (Strings{"unit_arrived"}));
    EXPECT_EQ(timeline_types(handle(UnitClear{"P-3", "I-8", "ok"})),
              (Strings{"unit_cleared", "resolved"}));
}

TEST_F(DispatchCoreTest, RestoreIgnoresDuplicatesAndUnknownUnits) {
    Incident inc = restored_incident(kT0, kT0, 20);
    inc.offers.push_back(Offer{"X-9", 42, kT0, kT0 + seconds{20}, 1, false});
    EXPECT_EQ(only<StartTimer>(core_->restore(inc)).size(), 1u);
    EXPECT_TRUE(core_->restore(inc).empty());
    EXPECT_EQ(offered("I-7"), (Strings{"P-2"}));
}

TEST_F(DispatchCoreTest, RestoredWaitingIncidentIsOfferedAtTheFirstTick) {
    Incident inc;
    inc.id = "I-5";
    inc.school = "S-1";
    inc.kind = "assault";
    inc.places = 2;
    inc.short_of_units = true;
    core_->restore(inc);
    online("P-1");
    EXPECT_EQ(offered("I-5"), (Strings{"P-1"}));
    EXPECT_TRUE(incident("I-5").short_of_units);  // one place still short, recorded once
}

// ---- registry and determinism -----------------------------------------------------------------

TEST_F(DispatchCoreTest, RegistryChangesAddAndRetireUnits) {
    online_all();
    Registry next = registry_;
    next.units.erase(next.units.begin());  // P-1 removed
    next.units.push_back({"P-9", "Patrol 9", "D-1", north_of(kS1, 10)});
    core_->replace_registry(next);
    EXPECT_TRUE(core_->unit("P-1")->retired);
    EXPECT_EQ(sent(alarm("I-1"), "offer"), (Strings{"P-2:I-1"}));  // P-9 not connected yet
    handle(UnitConnected{"P-9"});
    EXPECT_EQ(sent(alarm("I-2"), "offer"), (Strings{"P-9:I-2"}));
}

TEST_F(DispatchCoreTest, SameEventsSameActions) {
    auto script = [this] {
        std::string all;
        auto run = [&](const Event& e) { all += describe(handle(e)); };
        for (const char* u : {"P-1", "P-2", "P-3", "P-4"}) run(UnitConnected{u});
        run(AlarmIntaken{"I-1", "S-1", "assault", false, now_, true});
        advance(seconds{3});
        run(UnitDecline{"P-1", "I-1", "no"});
        run(UnitAccept{"P-2", "I-1"});
        advance(seconds{30});
        run(Tick{});
        run(UnitAccept{"P-3", "I-1"});
        run(UnitPosition{"P-2", kS1.lat, kS1.lon});
        run(UnitClear{"P-2", "I-1", "ok"});
        run(ConsoleCancel{"I-1", "alice", "done"});
        return all;
    };
    const std::string first = script();
    rebuild();
    now_ = kT0;
    EXPECT_EQ(first, script());
    EXPECT_NE(first.find("offer_expired"), std::string::npos);
}

TEST_F(DispatchCoreTest, BruteForceRouterGivesTheSameDispatch) {
    core_ = std::make_unique<DispatchCore>(
        config_, registry_, std::make_unique<geo::BruteForceRouter>(config_.router_options()));
    online_all();
    EXPECT_EQ(sent(alarm("I-1", "assault"), "offer"), (Strings{"P-1:I-1", "P-2:I-1"}));
}

// ---- many waiting incidents: the order the core's indexes must keep -----------------------
// The core keeps waiting incidents and offer deadlines in ordered indexes so that
// an alarm storm costs O(log n) per event (docs/performance.md §12). These tests
// pin the order they must reproduce and fail when an index goes stale.

// "incident" of each timeline event of `type`, in action order.
Strings incidents_of(const std::vector<Action>& actions, TimelineType type) {
    Strings out;
    for (const AppendTimeline& t : events_of(actions, type)) out.push_back(t.incident);
    return out;
}

TEST_F(DispatchCoreTest, ManyWaitingIncidentsAreServedInReceiptOrderNotIntakeOrder) {
    // 30 alarms, intaken in an order unlike their receipt (the intake may run
    // late), with ties in received_at decided by id ("I-10" < "I-2").
    std::vector<std::pair<TimePoint, std::string>> receipt;
    for (int i = 0; i < 30; ++i) {
        const std::string id = "I-" + std::to_string(i);
        const TimePoint received = kT0 - seconds{(i * 7) % 10};
        receipt.emplace_back(received, id);
        const auto a = handle(AlarmIntaken{id, "S-1", "medical", false, received, true});
        // Only the new incident is touched: the ones waiting already stay quiet.
        EXPECT_EQ(incidents_of(a, TimelineType::no_unit_available), (Strings{id}));
        EXPECT_EQ(statuses(a), (Strings{"received", "no_unit_available"}));
    }
    std::sort(receipt.begin(), receipt.end());

    // Units come on line one by one: each takes the oldest incident waiting.
    const Strings units{"P-1", "P-2", "P-3", "P-4", "P-5", "G-1"};
    for (std::size_t k = 0; k < units.size(); ++k) {
        advance(seconds{1});
        const auto a = handle(UnitConnected{units[k]});
        EXPECT_EQ(sent(a, "offer"), (Strings{units[k] + ":" + receipt[k].second})) << k;
    }
    // P-1 declines: it goes to the oldest incident still waiting.
    const std::string first = receipt[0].second;
    auto a = handle(UnitDecline{"P-1", first, "no"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:" + receipt[6].second}));
    // P-2's offer (sent at T0+2) runs out: the incident P-1 declined is now the
    // oldest waiting, and P-2 has not passed it.
    now_ = kT0 + seconds{22};
    a = handle(Tick{});
    EXPECT_EQ(incidents_of(a, TimelineType::offer_expired), (Strings{receipt[1].second}));
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-2:" + first}));
    // Five offers run out together (P-3 to G-1 sent at T0+3..6, P-1's second
    // at T0+6): they expire oldest incident first, then the oldest waiting
    // incidents take the nearest units they have not passed.
    now_ = kT0 + seconds{26};
    a = handle(Tick{});
    EXPECT_EQ(incidents_of(a, TimelineType::offer_expired),
              (Strings{receipt[2].second, receipt[3].second, receipt[4].second, receipt[5].second,
                       receipt[6].second}));
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:" + receipt[1].second, "P-4:" + receipt[2].second,
                                         "P-3:" + receipt[3].second, "G-1:" + receipt[4].second,
                                         "P-5:" + receipt[5].second}));
}

TEST_F(DispatchCoreTest, AClosedWaitingIncidentIsNoLongerServed) {
    for (const char* id : {"I-1", "I-2", "I-3", "I-4"}) {
        alarm(id);
        advance(seconds{1});
    }
    handle(ConsoleCancel{"I-1", "alice", "test"});
    handle(ConsoleResolve{"I-2", "alice", "handled by phone"});
    handle(AlarmReconciled{"I-3", "I-9"});  // a duplicate of another incident
    const auto a = handle(UnitConnected{"P-1"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-4"}));
    const auto b = handle(UnitConnected{"P-2"});
    EXPECT_TRUE(sent(b, "offer").empty());
    EXPECT_EQ(unit_incident("P-2"), "");
}

TEST_F(DispatchCoreTest, AReopenedPlaceIsRecordedShortEvenWhenNoUnitIsLeft) {
    online("P-1");
    alarm("I-1");  // P-1 offered
    advance(seconds{1});
    alarm("I-2");  // nobody left
    // Going out of service declines I-1's offer: no unit is eligible now, yet
    // I-1 must be found short (a new shortage), and I-2 stays quiet.
    const auto a = handle(UnitAvailability{"P-1", false});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_declined", "no_unit_available"}));
    EXPECT_EQ(incidents_of(a, TimelineType::no_unit_available), (Strings{"I-1"}));
    EXPECT_EQ(statuses(a), (Strings{"no_unit_available"}));
    EXPECT_TRUE(incident("I-1").short_of_units);
    // Back in service: P-1 passed I-1, so the next waiting incident gets it.
    const auto b = handle(UnitAvailability{"P-1", true});
    EXPECT_EQ(sent(b, "offer"), (Strings{"P-1:I-2"}));
    // A new unit takes I-1, which waited longest.
    const auto c = handle(UnitConnected{"P-2"});
    EXPECT_EQ(sent(c, "offer"), (Strings{"P-2:I-1"}));
}

TEST_F(DispatchCoreTest, APlaceReopenedByBackingOutIsServedFirst) {
    online("P-1");
    alarm("I-1");
    handle(UnitAccept{"P-1", "I-1"});
    advance(seconds{1});
    alarm("I-2");  // waits
    advance(seconds{1});
    // P-1 backs out of I-1: it is free, has passed I-1 and goes to I-2; I-1
    // waits again, recorded short anew.
    const auto a = handle(UnitClear{"P-1", "I-1", "wrong address"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:I-2"}));
    EXPECT_EQ(incidents_of(a, TimelineType::no_unit_available), (Strings{"I-1"}));
    advance(seconds{1});
    alarm("I-3");
    // The next unit goes to I-1, received before I-3.
    EXPECT_EQ(sent(handle(UnitConnected{"P-2"}), "offer"), (Strings{"P-2:I-1"}));
}

TEST_F(DispatchCoreTest, OffersExpireInDeadlineOrderAndTogetherOldestIncidentFirst) {
    online("P-1");
    online("P-2");
    online("P-3");
    alarm("I-2");  // P-1, deadline T0+20
    advance(seconds{1});
    // I-1 was received before I-2 but intaken later: P-2, deadline T0+21.
    handle(AlarmIntaken{"I-1", "S-1", "medical", false, kT0 - seconds{5}, true});
    EXPECT_EQ(offered("I-1"), (Strings{"P-2"}));
    advance(seconds{1});
    alarm("I-3");  // P-3, deadline T0+22
    // Ticks every second: one offer at a time, by deadline.
    now_ = kT0 + seconds{19};
    EXPECT_TRUE(handle(Tick{}).empty());
    advance(seconds{1});
    EXPECT_EQ(incidents_of(handle(Tick{}), TimelineType::offer_expired), (Strings{"I-2"}));
    advance(seconds{1});
    EXPECT_EQ(incidents_of(handle(Tick{}), TimelineType::offer_expired), (Strings{"I-1"}));

    // Due together (a late tick): oldest incident first, whatever the deadlines.
    rebuild();
    now_ = kT0;
    online("P-1");
    online("P-2");
    alarm("I-2");
    advance(seconds{1});
    handle(AlarmIntaken{"I-1", "S-1", "medical", false, kT0 - seconds{5}, true});
    advance(seconds{60});
    const auto a = handle(Tick{});
    EXPECT_EQ(incidents_of(a, TimelineType::offer_expired), (Strings{"I-1", "I-2"}));
}

// A deadline belongs to one offer (its seq), not to the unit: a unit offered
// the same incident again keeps its new offer past the first one's deadline.
TEST_F(DispatchCoreTest, AnAnsweredOffersDeadlineDoesNotExpireALaterOne) {
    online("P-1");
    alarm("I-1");  // deadline T0+20
    advance(seconds{5});
    handle(UnitDecline{"P-1", "I-1", "no"});
    advance(seconds{5});
    handle(ConsoleAssign{"I-1", "P-1", "alice"});  // deadline T0+30
    const std::uint64_t second = seq("I-1", "P-1");
    advance(seconds{10});
    EXPECT_TRUE(handle(Tick{}).empty());
    EXPECT_EQ(offered("I-1"), (Strings{"P-1"}));
    advance(seconds{10});
    const auto a = handle(Tick{});
    ASSERT_EQ(events_of(a, TimelineType::offer_expired).size(), 1u);
    EXPECT_EQ(events_of(a, TimelineType::offer_expired)[0].details.at("seq"), second);
}

TEST_F(DispatchCoreTest, AnAcceptedOrCancelledOffersDeadlinePassesQuietly) {
    online("P-1");
    online("P-2");
    alarm("I-1");
    alarm("I-2");
    handle(UnitAccept{"P-1", "I-1"});
    handle(ConsoleCancel{"I-2", "alice", "test"});
    advance(seconds{25});
    EXPECT_TRUE(handle(Tick{}).empty());
}

TEST_F(DispatchCoreTest, RestoredIncidentsAreServedInReceiptOrder) {
    // Restored in an order unlike their receipt; I-C's offer to P-2 ran out
    // while the server was down.
    auto waiting = [](const std::string& id, TimePoint received) {
        Incident inc;
        inc.id = id;
        inc.school = "S-1";
        inc.kind = "medical";
        inc.received_at = received;
        return inc;
    };
    core_->restore(waiting("I-B", kT0 - seconds{20}));
    core_->restore(waiting("I-A", kT0 - seconds{30}));
    Incident c = waiting("I-C", kT0 - seconds{60});
    c.offers.push_back(Offer{"P-2", 7, kT0 - seconds{50}, kT0 - seconds{30}, 100, false});
    core_->restore(c);
    core_->restore(waiting("I-D", kT0 - seconds{10}));

    const auto a = handle(Tick{});
    EXPECT_EQ(incidents_of(a, TimelineType::offer_expired), (Strings{"I-C"}));
    EXPECT_EQ(incidents_of(a, TimelineType::no_unit_available),
              (Strings{"I-C", "I-A", "I-B", "I-D"}));
    EXPECT_EQ(sent(handle(UnitConnected{"P-2"}), "offer"), (Strings{"P-2:I-A"}));  // passed I-C
    EXPECT_EQ(sent(handle(UnitConnected{"P-1"}), "offer"), (Strings{"P-1:I-C"}));
}

TEST_F(DispatchCoreTest, ARestoredIncidentWithEveryPlaceCoveredIsNotShort) {
    Incident inc = restored_incident(kT0 - seconds{10}, kT0 - seconds{5}, 20);
    inc.short_of_units = true;  // recorded before its offer was sent
    core_->restore(inc);
    handle(Tick{});
    EXPECT_FALSE(incident("I-7").short_of_units);
    // The offer is declined and nobody is left: a new shortage is recorded.
    const auto a = handle(UnitDecline{"P-2", "I-7", "no"});
    EXPECT_EQ(timeline_types(a), (Strings{"offer_declined", "no_unit_available"}));
}

TEST_F(DispatchCoreTest, ARegistryChangeServesAnIncidentWaitingAtAnUnknownSchool) {
    online("P-1");
    alarm("I-1", "medical", "S-9");  // not in the registry: waits
    EXPECT_TRUE(incident("I-1").short_of_units);
    registry_.schools.push_back({"S-9", "No.9 Primary", "D-1", north_of(kS1, 500)});
    core_->replace_registry(registry_);
    EXPECT_EQ(sent(handle(Tick{}), "offer"), (Strings{"P-1:I-1"}));
}

// Counts rank() calls: how many incidents a step offered units to.
class CountingRouter : public geo::UnitRouter {
  public:
    explicit CountingRouter(geo::RouterOptions options) : inner_(std::move(options)) {}
    void set_position(std::string_view unit, GeoPoint where, TimePoint at) override {
        inner_.set_position(unit, where, at);
    }
    void set_eligible(std::string_view unit, bool eligible) override {
        inner_.set_eligible(unit, eligible);
    }
    void remove(std::string_view unit) override { inner_.remove(unit); }
    void set_guard_posts(std::vector<GuardPost> posts) override {
        inner_.set_guard_posts(std::move(posts));
    }
    std::vector<geo::RankedUnit> rank(const geo::RouteRequest& request) const override {
        ++ranked;
        return inner_.rank(request);
    }
    std::optional<geo::RankedUnit> estimate(std::string_view unit, GeoPoint to) const override {
        return inner_.estimate(unit, to);
    }
    mutable int ranked = 0;

  private:
    geo::NearestUnitRouter inner_;
};

// The alarm storm's cost, counted instead of timed: with every unit busy and
// 300 incidents waiting, an alarm ranks units for itself only, a freed unit
// for the oldest waiting incident only, and a Tick for none.
TEST_F(DispatchCoreTest, WithEveryUnitBusyAStepRanksOnlyWhatChanged) {
    auto router = std::make_unique<CountingRouter>(config_.router_options());
    CountingRouter& counting = *router;
    core_ = std::make_unique<DispatchCore>(config_, registry_, std::move(router));
    online_all();
    for (int i = 0; i < 6; ++i) {  // six units, six incidents: all busy
        const std::string id = "B-" + std::to_string(i);
        alarm(id);
        handle(UnitAccept{incident(id).offers.at(0).unit, id});
    }
    for (int i = 0; i < 300; ++i) alarm("W-" + std::to_string(1000 + i));
    ASSERT_TRUE(incident("W-1000").short_of_units);

    counting.ranked = 0;
    alarm("W-2000");
    EXPECT_EQ(counting.ranked, 1);

    counting.ranked = 0;
    handle(Tick{});
    EXPECT_EQ(counting.ranked, 0);

    // P-1 clears: the oldest waiting incident gets it, and nobody else is ranked.
    const std::string p1_on = unit_incident("P-1");
    handle(UnitArrived{"P-1", p1_on});
    counting.ranked = 0;
    const auto a = handle(UnitClear{"P-1", p1_on, "done"});
    EXPECT_EQ(sent(a, "offer"), (Strings{"P-1:W-1000"}));
    EXPECT_EQ(counting.ranked, 1);
}

// Random traffic, then after every event the rules the waiting index and the
// deadline index must keep, checked against the core's public state:
//   1. no waiting incident is left while a unit could serve it;
//   2. every waiting incident has its shortage recorded;
//   3. a unit offered by the router went to an incident with no older one
//      still waiting that it could have served;
//   4. no open offer is past its deadline.
TEST_F(DispatchCoreTest, RandomTrafficKeepsTheWaitingRules) {
    const seconds stale{config_.unit_stale_s};
    Strings unit_ids;
    for (const auto& [unit, spot] : spots_) unit_ids.push_back(unit);
    auto could_serve = [&](const UnitState& u, const Incident& inc) {
        return u.connected && u.available && !u.retired && u.incident.empty() &&
               now_ - u.last_report <= stale && !inc.has_passed(u.id) &&
               inc.offer_for(u.id) == nullptr && inc.assignment_for(u.id) == nullptr &&
               inc.school != "S-9";
    };
    auto waiting = [](const Incident& inc) {
        return static_cast<int>(inc.offers.size() + inc.assignments.size()) < inc.places;
    };

    for (unsigned seed = 1; seed <= 4; ++seed) {
        rebuild();
        now_ = kT0;
        std::mt19937 rng(seed);
        auto pick = [&](std::size_t n) {
            return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
        };
        int next_id = 0;
        int checked_offers = 0;
        for (int step = 0; step < 1500; ++step) {
            std::vector<const Incident*> open = core_->open_incidents();
            const std::string unit = unit_ids[pick(unit_ids.size())];
            const UnitState* us = core_->unit(unit);
            const std::string held = us->incident;
            const std::string some = open.empty() ? "I-none" : open[pick(open.size())]->id;
            Event e = Tick{};
            switch (pick(14)) {
                case 0:
                case 1:
                case 2: {
                    const char* schools[] = {"S-1", "S-2", "S-9"};
                    const char* kinds[] = {"medical", "assault"};
                    e = AlarmIntaken{"I-" + std::to_string(next_id++),
                                     schools[pick(3)],
                                     kinds[pick(2)],
                                     false,
                                     now_ - seconds{static_cast<int>(pick(30))},
                                     true};
                    break;
                }
                case 3:
                    e = UnitConnected{unit};
                    break;
                case 4:
                    e = UnitDisconnected{unit};
                    break;
                case 5:
                    e = UnitAvailability{unit, pick(3) != 0};
                    break;
                case 6:
                    e = UnitAccept{unit, held};
                    break;
                case 7:
                    e = UnitDecline{unit, held, "no"};
                    break;
                case 8: {
                    const GeoPoint p = north_of(kS1, pick(2) == 0 ? 50 : 3000);
                    e = UnitPosition{unit, p.lat, p.lon};
                    break;
                }
                case 9:
                    e = pick(2) == 0 ? Event{UnitArrived{unit, held}}
                                     : Event{UnitClear{unit, held, "done"}};
                    break;
                case 10:
                    e = ConsoleAssign{some, unit, "alice"};
                    break;
                case 11:
                    e = pick(2) == 0 ? Event{ConsoleCancel{some, "alice", "test"}}
                                     : Event{ConsoleResolve{some, "alice", "done"}};
                    break;
                default:
                    advance(seconds{static_cast<int>(pick(25))});
                    break;
            }
            const auto actions = handle(e);

            open = core_->open_incidents();
            for (const Incident* inc : open) {
                for (const Offer& o : inc->offers) {
                    ASSERT_GT(o.deadline, now_) << "seed " << seed << " step " << step;  // rule 4
                }
                if (!waiting(*inc)) continue;
                ASSERT_TRUE(inc->short_of_units)  // rule 2
                    << "seed " << seed << " step " << step << " " << inc->id;
                for (const UnitState* u : core_->units()) {
                    ASSERT_FALSE(could_serve(*u, *inc))  // rule 1
                        << "seed " << seed << " step " << step << " " << u->id << " idle, "
                        << inc->id << " waiting";
                }
            }
            for (const AppendTimeline& t : events_of(actions, TimelineType::offer_sent)) {
                if (t.actor != "system") continue;
                const Incident* served = core_->incident(t.incident);
                if (served == nullptr) continue;
                ++checked_offers;
                for (const Incident* older : open) {
                    if (std::tie(older->received_at, older->id) >=
                        std::tie(served->received_at, served->id)) {
                        break;  // open_incidents() is in receipt order
                    }
                    if (!waiting(*older) || older->school == "S-9") continue;
                    ASSERT_TRUE(older->has_passed(t.unit) ||  // rule 3
                                older->assignment_for(t.unit) != nullptr)
                        << "seed " << seed << " step " << step << " " << t.unit << " went to "
                        << served->id << " while " << older->id << " waited";
                }
            }
        }
        // The traffic did exercise the rules.
        EXPECT_GT(next_id, 200) << seed;
        EXPECT_GT(checked_offers, 50) << seed;
    }
}

}  // namespace
}  // namespace huxiao::dispatch
