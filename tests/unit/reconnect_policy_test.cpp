// The reconnection behaviour recommended to terminal vendors and used by the
// simulator and the benchmarks (common/protocol/reconnect_policy).
#include "common/protocol/reconnect_policy.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace huxiao {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectPolicy, WindowsDoubleFromTheFirstUpToTheCap) {
    ReconnectPolicy p(1, {milliseconds(500), milliseconds(4000)});
    std::vector<long long> windows;
    for (int i = 0; i < 6; ++i) {
        windows.push_back(p.next_window().count());
        p.failed(0.5);
    }
    EXPECT_EQ(windows, (std::vector<long long>{500, 1000, 2000, 4000, 4000, 4000}));
}

TEST(ReconnectPolicy, TheWaitIsAFullJitterDrawFromTheWindow) {
    ReconnectPolicy p(1, {milliseconds(1000), milliseconds(30000)});
    EXPECT_EQ(p.failed(0.0), milliseconds(0));       // window 1 s
    EXPECT_EQ(p.failed(0.5), milliseconds(1000));    // window 2 s
    EXPECT_EQ(p.failed(0.999), milliseconds(3996));  // window 4 s
    // Out-of-range draws are clamped, never longer than the window.
    EXPECT_EQ(p.failed(7.0), milliseconds(8000));
    EXPECT_EQ(p.failed(-1.0), milliseconds(0));
}

TEST(ReconnectPolicy, AWelcomeStartsOverAtTheFirstWindowOnTheSameAddress) {
    ReconnectPolicy p(2, {milliseconds(1000), milliseconds(30000)});
    p.failed(0.5);
    p.failed(0.5);
    p.failed(0.5);
    EXPECT_EQ(p.failures_in_a_row(), 3);
    EXPECT_EQ(p.address(), 1u);
    p.connected();
    EXPECT_EQ(p.failures_in_a_row(), 0);
    EXPECT_EQ(p.next_window(), milliseconds(1000));
    EXPECT_EQ(p.address(), 1u);  // the address that answered is kept
}

// What docs/terminals.md recommends: 1 s, doubling, at most 10 s.
TEST(ReconnectPolicy, TheRecommendedWindowsGrowFromOneSecondToTen) {
    ReconnectPolicy p(1, {});
    std::vector<long long> windows;
    for (int i = 0; i < 6; ++i) {
        windows.push_back(p.next_window().count());
        p.failed(0.5);
    }
    EXPECT_EQ(windows, (std::vector<long long>{1000, 2000, 4000, 8000, 10000, 10000}));
}

TEST(ReconnectPolicy, EachFailureMovesToTheNextAddress) {
    ReconnectPolicy p(3, {});
    std::vector<std::size_t> order{p.address()};
    for (int i = 0; i < 4; ++i) {
        p.failed(0.1);
        order.push_back(p.address());
    }
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 0, 1}));
}

TEST(ReconnectPolicy, ManyClientsFailingTogetherSpreadOverTheWindow) {
    // 20,000 terminals lose the server in the same second: their first
    // attempts fall evenly over the first window, not into one instant.
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<int> per_100ms(10, 0);
    for (int i = 0; i < 20000; ++i) {
        ReconnectPolicy p(1, {milliseconds(1000), milliseconds(30000)});
        const auto wait = p.failed(uniform(rng));
        ASSERT_LT(wait, milliseconds(1000));
        ++per_100ms[static_cast<std::size_t>(wait.count() / 100)];
    }
    for (int count : per_100ms) {
        EXPECT_GT(count, 1800);  // 2,000 expected in each tenth
        EXPECT_LT(count, 2200);
    }
}

TEST(ReconnectPolicy, NonsenseLimitsAreProgrammerErrors) {
    EXPECT_THROW(ReconnectPolicy(0, {}), std::invalid_argument);
    EXPECT_THROW(ReconnectPolicy(1, {milliseconds(0), milliseconds(10)}), std::invalid_argument);
    EXPECT_THROW(ReconnectPolicy(1, {milliseconds(100), milliseconds(10)}), std::invalid_argument);
}

TEST(ReconnectPolicy, AHugeNumberOfFailuresStaysAtTheCap) {
    ReconnectPolicy p(1, {milliseconds(1), milliseconds(60000)});
    for (int i = 0; i < 10000; ++i) p.failed(0.5);
    EXPECT_EQ(p.next_window(), milliseconds(60000));
    EXPECT_EQ(p.failed(1.0), milliseconds(60000));
}

}  // namespace
}  // namespace huxiao
