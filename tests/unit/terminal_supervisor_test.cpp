#include "common/intake/terminal_supervisor.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace huxiao {
namespace {

constexpr UnixMicros s(long long seconds) { return seconds * kMicrosPerSecond; }

TEST(TerminalSupervisor, HelloBringsATerminalOnlineOnce) {
    TerminalSupervisor sup(30, 3);
    auto first = sup.session_opened("T-1", s(100));
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].terminal, "T-1");
    EXPECT_TRUE(first[0].online);
    EXPECT_EQ(first[0].at, s(100));
    EXPECT_TRUE(sup.session_opened("T-1", s(101)).empty());  // a second session: no new transition
    EXPECT_TRUE(sup.online("T-1"));
    EXPECT_EQ(sup.online_count(), 1u);
}

TEST(TerminalSupervisor, SilenceLongerThanTheMissedBeatsGoesOfflineAsOfTheLastSignOfLife) {
    TerminalSupervisor sup(30, 3);  // window 90 s
    sup.session_opened("T-1", s(0));
    sup.frame("T-1", s(30));
    EXPECT_TRUE(sup.tick(s(120)).empty());  // 90 s after the last frame: not yet
    auto t = sup.tick(s(121));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_FALSE(t[0].online);
    EXPECT_EQ(t[0].at, s(30));
    EXPECT_FALSE(sup.online("T-1"));
    EXPECT_TRUE(sup.tick(s(500)).empty());  // reported once
}

TEST(TerminalSupervisor, QuickReconnectIsNotAnOutage) {
    TerminalSupervisor sup(30, 3);
    sup.session_opened("T-1", s(0));
    sup.session_closed("T-1", s(10));
    EXPECT_TRUE(sup.tick(s(50)).empty());
    EXPECT_TRUE(sup.session_opened("T-1", s(60)).empty());
    EXPECT_TRUE(sup.tick(s(140)).empty());
    EXPECT_TRUE(sup.online("T-1"));
}

TEST(TerminalSupervisor, DisconnectedTerminalGoesOfflineAfterTheWindow) {
    TerminalSupervisor sup(10, 2);  // window 20 s
    sup.session_opened("T-1", s(0));
    sup.session_closed("T-1", s(5));
    auto t = sup.tick(s(26));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].at, s(5));
    auto back = sup.session_opened("T-1", s(40));
    ASSERT_EQ(back.size(), 1u);
    EXPECT_TRUE(back[0].online);
}

TEST(TerminalSupervisor, PanelWithoutSessionIsOnlineWhileItsMessagesComeWithinItsOwnWindow) {
    TerminalSupervisor sup(30, 3);  // TLS terminals: 90 s
    auto first = sup.heard_from("T-P", s(0), s(600));
    ASSERT_EQ(first.size(), 1u);
    EXPECT_TRUE(first[0].online);
    EXPECT_EQ(first[0].at, s(0));
    EXPECT_TRUE(sup.heard_from("T-P", s(500), s(600)).empty());  // already online
    EXPECT_TRUE(sup.tick(s(1100)).empty());  // 600 s after the last message: not yet
    auto t = sup.tick(s(1101));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_FALSE(t[0].online);
    EXPECT_EQ(t[0].at, s(500));
    auto back = sup.heard_from("T-P", s(2000));  // no window of its own: the supervisor's 90 s
    ASSERT_EQ(back.size(), 1u);
    EXPECT_TRUE(back[0].online);
    EXPECT_TRUE(sup.tick(s(2090)).empty());
    EXPECT_EQ(sup.tick(s(2091)).size(), 1u);
}

TEST(TerminalSupervisor, TerminalsAssumedOnlineAtStartGoOfflineIfTheyDoNotReturn) {
    TerminalSupervisor sup(30, 3);
    sup.assume_online("T-1", s(1000));
    sup.assume_online("T-2", s(1000));
    EXPECT_EQ(sup.online_count(), 2u);
    EXPECT_TRUE(sup.session_opened("T-2", s(1050)).empty());  // came back in time: still online
    auto t = sup.tick(s(1091));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].terminal, "T-1");
    EXPECT_EQ(t[0].at, s(1000));
}

TEST(TerminalSupervisor, UnknownTerminalIsNotOnline) {
    TerminalSupervisor sup(30, 3);
    EXPECT_FALSE(sup.online("T-404"));
    EXPECT_EQ(sup.last_seen("T-404"), 0);
}

// online_count() is kept at each transition (the Dispatcher reads it on every
// hello); it must always equal a count of online(t) over every terminal, through
// any mix of hellos, frames, closes, panels, start-up assumptions and ticks.
TEST(TerminalSupervisor, OnlineCountFollowsEveryTransition) {
    TerminalSupervisor sup(10, 3);  // a 30 s window
    std::mt19937 rng(12345);
    const std::vector<std::string> ids{"T-1", "T-2", "T-3", "T-4", "T-5", "T-6", "T-7", "T-8"};
    UnixMicros now = 1'000 * kMicrosPerSecond;
    std::size_t went_offline = 0;
    for (int step = 0; step < 5000; ++step) {
        const std::string& t = ids[rng() % ids.size()];
        now += static_cast<UnixMicros>(rng() % 4000) * 1000;  // up to 4 s on
        switch (rng() % 6) {
            case 0:
                sup.session_opened(t, now);
                break;
            case 1:
                sup.frame(t, now);
                break;
            case 2:
                sup.session_closed(t, now);
                break;
            case 3:
                sup.heard_from(t, now, 5 * kMicrosPerSecond);
                break;
            case 4:
                sup.assume_online(t, now - 20 * kMicrosPerSecond);
                break;
            default:
                went_offline += sup.tick(now).size();
                break;
        }
        std::size_t counted = 0;
        for (const auto& id : ids) counted += sup.online(id) ? 1 : 0;
        ASSERT_EQ(sup.online_count(), counted) << "after step " << step;
    }
    EXPECT_GT(went_offline, 0u);  // the walk went through offline transitions too
}

}  // namespace
}  // namespace huxiao
