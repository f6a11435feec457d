// Restart (common/dispatch/replay): the state rebuilt from an incident's
// timeline equals the live state at every step, and a core restored from it
// carries on exactly as the one that never stopped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numbers>

#include "common/dispatch/dispatch_core.hpp"
#include "common/dispatch/replay.hpp"
#include "common/protocol/unit_protocol.hpp"

namespace huxiao::dispatch {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const TimePoint kT0 = from_unix_micros(1788220800LL * 1000000);
const GeoPoint kS1{30.5928, 114.3055};

GeoPoint north_of(GeoPoint p, double metres) {
    return {p.lat + metres / (geo::kEarthRadiusM * std::numbers::pi / 180.0), p.lon};
}

Registry registry() {
    Registry r;
    r.schools = {{"S-1", "No.1 Primary", "D-1", kS1}};
    for (int n = 1; n <= 6; ++n) {
        r.units.push_back({"P-" + std::to_string(n), "", "D-1", north_of(kS1, 1000.0 * n)});
    }
    return r;
}

// A core whose timeline appends are kept, as IncidentLog would store them.
struct Recorded {
    CoreConfig config;
    DispatchCore core{config, registry()};
    std::map<std::string, std::vector<TimelineRecord>> timelines;
    std::vector<Action> last;

    std::vector<Action> handle(const Event& e, TimePoint now) {
        last = core.handle(e, now);
        for (const Action& a : last) {
            if (const auto* t = std::get_if<AppendTimeline>(&a)) {
                timelines[t->incident].push_back(
                    {t->at, std::string(to_string(t->type)), t->actor, t->unit, t->details});
            }
        }
        return last;
    }

    std::optional<Incident> replayed(const std::string& id, const std::string& kind) const {
        auto it = timelines.find(id);
        const std::vector<TimelineRecord> none;
        return replay_incident({id, "S-1", kind, false, kT0},
                               it == timelines.end() ? none : it->second, config);
    }
};

long whole(double s) { return std::lround(s); }

std::size_t only_timers(const std::vector<Action>& actions) {
    return static_cast<std::size_t>(
        std::count_if(actions.begin(), actions.end(),
                      [](const Action& a) { return std::holds_alternative<StartTimer>(a); }));
}

void expect_same_state(const Incident& live, const Incident& replayed) {
    EXPECT_EQ(replayed.id, live.id);
    EXPECT_EQ(replayed.places, live.places);
    EXPECT_EQ(replayed.acknowledged, live.acknowledged);
    EXPECT_EQ(replayed.short_of_units, live.short_of_units);
    EXPECT_EQ(replayed.passed, live.passed);
    ASSERT_EQ(replayed.offers.size(), live.offers.size());
    for (std::size_t i = 0; i < live.offers.size(); ++i) {
        const Offer& a = live.offers[i];
        const Offer& b = replayed.offers[i];
        EXPECT_EQ(b.unit, a.unit);
        EXPECT_EQ(b.seq, a.seq);
        EXPECT_EQ(b.sent_at, a.sent_at);
        EXPECT_EQ(b.deadline, a.deadline);
        EXPECT_EQ(b.directed, a.directed);
        EXPECT_EQ(whole(b.eta_s), whole(a.eta_s));
    }
    ASSERT_EQ(replayed.assignments.size(), live.assignments.size());
    for (std::size_t i = 0; i < live.assignments.size(); ++i) {
        const Assignment& a = live.assignments[i];
        const Assignment& b = replayed.assignments[i];
        EXPECT_EQ(b.unit, a.unit);
        EXPECT_EQ(b.progress, a.progress);
        EXPECT_EQ(b.arrived, a.arrived);
        EXPECT_EQ(b.accepted_at, a.accepted_at);
        EXPECT_EQ(b.en_route_at, a.en_route_at);
        EXPECT_EQ(b.arrived_at, a.arrived_at);
        EXPECT_EQ(b.cleared_at, a.cleared_at);
        EXPECT_EQ(whole(b.eta_s), whole(a.eta_s));
    }
}

struct Step {
    seconds after;
    Event event;
};

// Runs `steps` and after each one checks replay(timeline) against the live
// state. The incident must stay open until the last step, which resolves it.
void check_every_step(const std::string& id, const std::string& kind,
                      const std::vector<Step>& steps) {
    Recorded r;
    TimePoint now = kT0;
    for (int n = 1; n <= 6; ++n) r.handle(UnitConnected{"P-" + std::to_string(n)}, now);
    r.handle(AlarmIntaken{id, "S-1", kind, false, now, true}, now);
    for (std::size_t i = 0; i < steps.size(); ++i) {
        now += steps[i].after;
        r.handle(steps[i].event, now);
        SCOPED_TRACE("after step " + std::to_string(i));
        const Incident* live = r.core.incident(id);
        const std::optional<Incident> replayed = r.replayed(id, kind);
        if (i + 1 == steps.size()) {
            EXPECT_EQ(live, nullptr) << "the last step should close the incident";
            EXPECT_FALSE(replayed.has_value());
            return;
        }
        ASSERT_NE(live, nullptr) << "closed too early";
        ASSERT_TRUE(replayed.has_value());
        expect_same_state(*live, *replayed);
    }
}

TEST(Replay, OneUnitIncidentThroughDeclineExpiryAcceptAndArrival) {
    check_every_step("I-1", "medical",
                     {{seconds{2}, UnitDecline{"P-1", "I-1", "no"}},
                      {seconds{25}, Tick{}},  // P-2 expires, P-3 offered
                      {seconds{1}, ConsoleAcknowledge{"I-1", "alice"}},
                      {seconds{1}, ConsoleNote{"I-1", "alice", "caller on the line"}},
                      {seconds{3}, UnitAccept{"P-3", "I-1"}},
                      {seconds{3}, UnitEnRoute{"P-3", "I-1"}},
                      {seconds{60}, UnitPosition{"P-3", kS1.lat, kS1.lon}},  // geofence
                      {seconds{600}, UnitClear{"P-3", "I-1", "resolved"}}});
}

TEST(Replay, TwoUnitIncidentWithBackOutsReinforcementAndWithdrawal) {
    check_every_step(
        "I-2", "assault",
        {{seconds{1}, UnitAccept{"P-1", "I-2"}},
         {seconds{1}, UnitDecline{"P-2", "I-2", "no"}},        // P-3 offered
         {seconds{1}, ConsoleAssign{"I-2", "P-5", "alice"}},   // competes with P-3
         {seconds{1}, UnitAccept{"P-5", "I-2"}},               // P-3 withdrawn
         {seconds{1}, UnitDecline{"P-1", "I-2", "recalled"}},  // backs out, P-2 passed: P-3
         {seconds{1}, UnitClear{"P-3", "I-2", "x"}},           // not assigned: error only
         {seconds{1}, UnitAccept{"P-3", "I-2"}},
         {seconds{1}, UnitClear{"P-3", "I-2", "diverted"}},  // backs out before arrival
         {seconds{1}, UnitDisconnected{"P-4"}},              // open offer expires
         {seconds{1}, UnitArrived{"P-5", "I-2"}},
         {seconds{1}, ConsoleAssign{"I-2", "P-4", "alice"}},  // disconnected: refused
         {seconds{1}, UnitAccept{"P-6", "I-2"}},
         {seconds{1}, ConsoleAssign{"I-2", "P-1", "alice"}},  // reinforcement
         {seconds{1}, UnitClear{"P-5", "I-2", "ok"}},
         {seconds{1}, UnitAccept{"P-1", "I-2"}},
         {seconds{1}, UnitArrived{"P-6", "I-2"}},
         {seconds{1}, UnitClear{"P-6", "I-2", "ok"}},
         {seconds{1}, UnitArrived{"P-1", "I-2"}},
         {seconds{1}, UnitClear{"P-1", "I-2", "ok"}}});
}

TEST(Replay, ShortageAndCancel) {
    Recorded r;
    r.handle(UnitConnected{"P-1"}, kT0);
    r.handle(AlarmIntaken{"I-3", "S-1", "intrusion", false, kT0, true}, kT0);
    auto replayed = r.replayed("I-3", "intrusion");
    ASSERT_TRUE(replayed.has_value());
    expect_same_state(*r.core.incident("I-3"), *replayed);
    EXPECT_TRUE(replayed->short_of_units);
    r.handle(UnitConnected{"P-2"}, kT0 + seconds{1});
    replayed = r.replayed("I-3", "intrusion");
    expect_same_state(*r.core.incident("I-3"), *replayed);
    EXPECT_FALSE(replayed->short_of_units);
    r.handle(ConsoleCancel{"I-3", "alice", "test"}, kT0 + seconds{2});
    EXPECT_FALSE(r.replayed("I-3", "intrusion").has_value());
}

// Recovery leaves these types out of what it reads back (server/db/recovery.cpp).
TEST(Replay, TypesItPassesOverChangeNothing) {
    Recorded r;
    TimePoint now = kT0;
    for (int n = 1; n <= 3; ++n) r.handle(UnitConnected{"P-" + std::to_string(n)}, now);
    r.handle(AlarmIntaken{"I-6", "S-1", "medical", false, now, true}, now);
    r.handle(UnitDecline{"P-1", "I-6", "no"}, now += seconds{2});
    r.handle(UnitAccept{"P-2", "I-6"}, now += seconds{2});
    const std::vector<TimelineRecord>& plain = r.timelines["I-6"];
    ASSERT_GE(plain.size(), 3u);
    // Each passed-over type before and after every row, with details that
    // would mean something to another type.
    std::vector<TimelineRecord> interleaved;
    const json tempting{{"seq", 99}, {"expires_in_s", 1}, {"withdrawn", json::array({"P-2"})}};
    for (const TimelineRecord& row : plain) {
        for (std::string_view type : kTypesReplayPassesOver) {
            interleaved.push_back({row.at, std::string(type), "T-1", "P-3", tempting});
        }
        interleaved.push_back(row);
    }
    const auto with = replay_incident({"I-6", "S-1", "medical", false, kT0}, interleaved, r.config);
    const auto without = replay_incident({"I-6", "S-1", "medical", false, kT0}, plain, r.config);
    ASSERT_TRUE(with.has_value());
    ASSERT_TRUE(without.has_value());
    expect_same_state(*without, *with);
    EXPECT_EQ(with->assignments.size(), 1u);
}

TEST(Replay, EmptyTimelineIsAFreshIncident) {
    const std::vector<TimelineRecord> none;
    const auto inc = replay_incident({"I-4", "S-1", "assault", true, kT0}, none, CoreConfig{});
    ASSERT_TRUE(inc.has_value());
    EXPECT_EQ(inc->places, 2);
    EXPECT_TRUE(inc->drill);
    EXPECT_EQ(inc->received_at, kT0);
    EXPECT_TRUE(inc->offers.empty());
}

TEST(Replay, MissingOrMalformedDetailsFallBackToTheConfig) {
    const std::vector<TimelineRecord> timeline{
        {kT0, "alarm_received", "T-1", "", json::object()},
        {kT0, "offer_sent", "system", "P-1", json{{"seq", "not a number"}}},
        {kT0, "future_event_type", "system", "", json::array()},
        {kT0, "unit_accepted", "P-9", "P-9", json(nullptr)},
    };
    CoreConfig config;
    config.offer_timeout_s = 30;
    const auto inc = replay_incident({"I-5", "S-1", "medical", false, kT0}, timeline, config);
    ASSERT_TRUE(inc.has_value());
    ASSERT_EQ(inc->offers.size(), 1u);
    EXPECT_EQ(inc->offers[0].seq, 0u);  // restore() gives it a fresh one
    EXPECT_EQ(inc->offers[0].deadline, kT0 + seconds{30});
    ASSERT_EQ(inc->assignments.size(), 1u);
    EXPECT_EQ(inc->assignments[0].unit, "P-9");
}

// Everything but offer sequence numbers (a restarted core continues from the
// highest one it restored, the old one from the highest it ever issued).
std::string render(const std::vector<Action>& actions) {
    std::string out;
    for (const Action& a : actions) {
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, SendToUnit>) {
                    out += "send " + x.unit + " " + unit_protocol::encode(x.message);
                } else if constexpr (std::is_same_v<T, PushStatus>) {
                    out += "status " + x.incident + " " + std::string(to_string(x.state)) + " " +
                           x.unit + " " + std::to_string(x.eta_s.value_or(-1));
                } else if constexpr (std::is_same_v<T, AppendTimeline>) {
                    json d = x.details;
                    if (d.is_object()) d.erase("seq");
                    out += "timeline " + x.incident + " " + std::string(to_string(x.type)) + " " +
                           x.actor + " " + x.unit + " " + d.dump();
                } else if constexpr (std::is_same_v<T, StartTimer>) {
                    out += "start " + x.key.incident + "/" + x.key.unit + " " +
                           std::to_string(to_unix_micros(x.deadline));
                } else if constexpr (std::is_same_v<T, CancelTimer>) {
                    out += "cancel " + x.key.incident + "/" + x.key.unit;
                } else if constexpr (std::is_same_v<T, ReplyError>) {
                    out += "error " + x.unit + " " + x.code;
                } else {
                    out += "closed " + x.incident;
                }
            },
            a);
        out += "\n";
    }
    return out;
}

TEST(Replay, ARestartedCoreCarriesOnLikeTheOneThatNeverStopped) {
    Recorded before;
    TimePoint now = kT0;
    auto all_units = [](const std::function<void(const std::string&)>& f) {
        for (int n = 1; n <= 6; ++n) f("P-" + std::to_string(n));
    };
    all_units([&](const std::string& u) { before.handle(UnitConnected{u}, now); });
    before.handle(AlarmIntaken{"I-1", "S-1", "assault", false, now, true}, now);  // P-1, P-2
    before.handle(AlarmIntaken{"I-2", "S-1", "medical", false, now, true}, now);  // P-3
    now += seconds{2};
    before.handle(UnitAccept{"P-1", "I-1"}, now);
    before.handle(UnitDecline{"P-3", "I-2", "no"}, now);  // P-4
    now += seconds{1};
    before.handle(UnitEnRoute{"P-1", "I-1"}, now);

    // The server dies here. A new core is built from the registry and the timelines.
    Recorded after;
    for (const char* id : {"I-1", "I-2"}) {
        const std::string kind = std::string(id) == "I-1" ? "assault" : "medical";
        auto inc = before.replayed(id, kind);
        ASSERT_TRUE(inc.has_value());
        const auto timers = after.core.restore(*inc);
        EXPECT_EQ(only_timers(timers), inc->offers.size());
        after.timelines[id] = before.timelines[id];
    }

    // 10 s later everyone reconnects and reports; from then on both must act alike.
    now += seconds{10};
    auto both = [&](const Event& e) {
        const std::string a = render(before.handle(e, now));
        const std::string b = render(after.handle(e, now));
        EXPECT_EQ(a, b);
        return a;
    };
    all_units([&](const std::string& u) {
        before.handle(UnitConnected{u}, now);
        after.handle(UnitConnected{u}, now);
        const GeoPoint p = north_of(kS1, 1000.0 * (u.back() - '0'));
        both(UnitPosition{u, p.lat, p.lon});
    });
    now += seconds{10};  // P-2's (I-1) and P-4's (I-2) offers run out: both expire them
    EXPECT_NE(both(Tick{}).find("offer_expired"), std::string::npos);
    both(UnitAccept{"P-5", "I-2"});
    both(UnitAccept{"P-3", "I-1"});
    now += seconds{30};
    both(UnitPosition{"P-1", kS1.lat, kS1.lon});
    both(UnitClear{"P-1", "I-1", "ok"});
    both(UnitArrived{"P-3", "I-1"});
    EXPECT_NE(both(UnitClear{"P-3", "I-1", "ok"}).find("closed I-1"), std::string::npos);
    both(ConsoleCancel{"I-2", "alice", "false alarm"});
    EXPECT_TRUE(before.core.open_incidents().empty());
    EXPECT_TRUE(after.core.open_incidents().empty());
}

}  // namespace
}  // namespace huxiao::dispatch
