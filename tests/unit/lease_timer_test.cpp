// LeaseTimer: when a leader may act on its lease by its own clock (contract §8).
#include "common/ha/lease_timer.hpp"

#include <gtest/gtest.h>

using huxiao::ha::LeaseTimer;
using namespace std::chrono_literals;

namespace {
const LeaseTimer::Clock::time_point t0{std::chrono::seconds(1000)};
}

TEST(LeaseTimer, NotHeldBeforeTheFirstConfirmation) {
    LeaseTimer lease(3s);
    EXPECT_FALSE(lease.held(t0));
    EXPECT_FALSE(lease.valid_until().has_value());
}

TEST(LeaseTimer, HeldUntilAMarginBeforeTheTtlCountedFromTheSending) {
    LeaseTimer lease(3s);
    lease.confirmed(t0);
    // The answer may come late: the lease is counted from when it was asked for.
    EXPECT_TRUE(lease.held(t0 + 2249ms));
    EXPECT_FALSE(lease.held(t0 + 2250ms));
    EXPECT_EQ(*lease.valid_until(), t0 + 2250ms);
    EXPECT_LT(*lease.valid_until(), t0 + lease.ttl());
}

TEST(LeaseTimer, ARenewalExtendsAndALateOlderAnswerDoesNotShortenIt) {
    LeaseTimer lease(3s);
    lease.confirmed(t0);
    lease.confirmed(t0 + 1s);
    lease.confirmed(t0 + 500ms);  // the answer to an earlier renewal, arriving last
    EXPECT_EQ(*lease.valid_until(), t0 + 1s + 2250ms);
    EXPECT_TRUE(lease.held(t0 + 3s));
}

TEST(LeaseTimer, LostIsNotHeldAtOnce) {
    LeaseTimer lease(3s);
    lease.confirmed(t0);
    lease.lost();
    EXPECT_FALSE(lease.held(t0 + 1ms));
}

TEST(LeaseTimer, TwoRenewalsCanFailBeforeTheHolderMustStepDown) {
    LeaseTimer lease(3s);
    lease.confirmed(t0);
    const auto first = lease.next_renewal(t0);
    const auto second = lease.next_renewal(first);
    const auto third = lease.next_renewal(second);
    EXPECT_TRUE(lease.held(third - 1ms));  // the third renewal is sent while still held
    EXPECT_LT(first, second);
}

TEST(LeaseTimer, StandbysPollWithinBounds) {
    EXPECT_EQ(LeaseTimer(3s).poll_interval(), 750ms);
    EXPECT_EQ(LeaseTimer(1s).poll_interval(), 250ms);
    EXPECT_EQ(LeaseTimer(60s).poll_interval(), 1000ms);
}

TEST(LeaseTimer, AStandbyTriesAgainJustAfterTheHoldersLeaseRunsOut) {
    LeaseTimer lease(3s);
    // The holder's lease runs out before the next poll: try just after it.
    EXPECT_EQ(lease.standby_next_try(t0, 200ms), t0 + 205ms);
    EXPECT_GT(lease.standby_next_try(t0, 200ms), t0 + 200ms);  // never before
    // It runs out later: the next poll comes first.
    EXPECT_EQ(lease.standby_next_try(t0, 2s), t0 + 750ms);
    // Already expired (another standby may be taking it): almost at once.
    EXPECT_EQ(lease.standby_next_try(t0, 0ms), t0 + 5ms);
    EXPECT_EQ(lease.standby_next_try(t0, -3ms), t0 + 5ms);
    // Nobody seen: the next poll.
    EXPECT_EQ(lease.standby_next_try(t0, std::nullopt), t0 + 750ms);
}

TEST(LeaseTimer, AStandbyRetriesAFailedTrySoonerThanItPolls) {
    EXPECT_EQ(LeaseTimer(3s).retry_interval(), 250ms);
    EXPECT_EQ(LeaseTimer(1s).retry_interval(), 83ms);
    EXPECT_LT(LeaseTimer(1s).retry_interval(), LeaseTimer(1s).poll_interval());
    EXPECT_EQ(LeaseTimer(60s).retry_interval(), 250ms);
}
