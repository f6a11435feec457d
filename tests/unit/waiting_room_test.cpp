// WaitingRoom and DrainRate (common/util/waiting_room.hpp): the bounded wait
// for a handshake place of the terminal listener (issue #11, reconnect storm).
#include "common/util/waiting_room.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace huxiao {
namespace {

using namespace std::chrono_literals;
const WaitClock::time_point t0 = WaitClock::time_point{} + 1000s;

WaitingRoom<int> room(std::size_t capacity = 4, std::size_t per_address = 3) {
    return WaitingRoom<int>({capacity, per_address, 5s});
}
// A rate at which nothing counts as too slow in these tests.
constexpr double kFast = 1e6;

TEST(WaitingRoom, TakesInOrderOfArrival) {
    auto r = room();
    EXPECT_EQ(r.offer(1, "a", t0, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.offer(2, "b", t0 + 1ms, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.offer(3, "a", t0 + 2ms, 0, kFast), WaitOffer::queued);
    const auto any = [](const std::string&) { return true; };
    EXPECT_EQ(r.take(any)->item, 1);
    EXPECT_EQ(r.take(any)->item, 2);
    EXPECT_EQ(r.take(any)->item, 3);
    EXPECT_FALSE(r.take(any));
    EXPECT_TRUE(r.empty());
}

TEST(WaitingRoom, RefusesPastItsCapacity) {
    auto r = room(2, 10);
    EXPECT_EQ(r.offer(1, "a", t0, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.offer(2, "b", t0, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.offer(3, "c", t0, 0, kFast), WaitOffer::full);
    EXPECT_EQ(r.size(), 2u);
}

TEST(WaitingRoom, ACapacityOfZeroTakesNobody) {
    auto r = room(0, 10);
    EXPECT_EQ(r.offer(1, "a", t0, 0, kFast), WaitOffer::full);
    EXPECT_TRUE(r.empty());
}

TEST(WaitingRoom, RefusesPastThePerAddressCapWhileOtherAddressesStillWait) {
    auto r = room(10, 2);
    EXPECT_EQ(r.offer(1, "a", t0, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.offer(2, "a", t0, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.offer(3, "a", t0, 0, kFast), WaitOffer::per_address);
    EXPECT_EQ(r.offer(4, "b", t0, 0, kFast), WaitOffer::queued);
    EXPECT_EQ(r.waiting_from("a"), 2u);
    // A place taken frees the address's share.
    EXPECT_EQ(r.take([](const std::string&) { return true; })->item, 1);
    EXPECT_EQ(r.waiting_from("a"), 1u);
    EXPECT_EQ(r.offer(5, "a", t0, 0, kFast), WaitOffer::queued);
}

TEST(WaitingRoom, RefusesWhoCouldNotFinishWithinTheDeadlineAtTheRate) {
    // 100 places free a second, 5 s to finish: 500 may be ahead of a
    // connection, counting those in their handshakes and itself.
    auto r = WaitingRoom<int>({1000, 1000, 5s});
    EXPECT_EQ(r.offer(0, "a", t0, 499, 100.0), WaitOffer::queued);    // 499 + 0 + 1 = 500
    EXPECT_EQ(r.offer(1, "a", t0, 499, 100.0), WaitOffer::too_slow);  // 499 + 1 + 1
    EXPECT_EQ(r.offer(2, "a", t0, 100, 100.0), WaitOffer::queued);
    // A faster drain takes more.
    EXPECT_EQ(r.offer(3, "a", t0, 499, 200.0), WaitOffer::queued);
    // Nothing draining: nobody waits.
    EXPECT_EQ(r.offer(4, "a", t0, 0, 0.0), WaitOffer::too_slow);
    EXPECT_EQ(r.size(), 3u);
}

TEST(WaitingRoom, DropsWhoseWaitRanOut) {
    auto r = room();
    r.offer(1, "a", t0, 0, kFast);
    r.offer(2, "b", t0 + 2s, 0, kFast);
    EXPECT_EQ(r.next_expiry(), t0 + 5s);
    EXPECT_FALSE(r.take_expired(t0 + 5s - 1ms));
    EXPECT_EQ(r.take_expired(t0 + 5s)->item, 1);
    EXPECT_FALSE(r.take_expired(t0 + 5s));
    EXPECT_EQ(r.next_expiry(), t0 + 7s);
    EXPECT_EQ(r.take_expired(t0 + 60s)->item, 2);
    EXPECT_FALSE(r.next_expiry());
    EXPECT_EQ(r.waiting_from("b"), 0u);
}

TEST(WaitingRoom, PassesOverAnAddressWithoutAPlaceButScansABoundedPrefix) {
    auto r = room(10, 10);
    r.offer(1, "full", t0, 0, kFast);
    r.offer(2, "full", t0, 0, kFast);
    r.offer(3, "free", t0, 0, kFast);
    r.offer(4, "free", t0, 0, kFast);
    const auto only_free = [](const std::string& a) { return a == "free"; };
    EXPECT_FALSE(r.take(only_free, 2));  // 3 and 4 lie beyond the scan
    EXPECT_EQ(r.take(only_free)->item, 3);
    EXPECT_EQ(r.take(only_free)->item, 4);
    EXPECT_FALSE(r.take(only_free));
    EXPECT_EQ(r.size(), 2u);  // the others still wait, in order
    EXPECT_EQ(r.take([](const std::string&) { return true; })->item, 1);
}

TEST(WaitingRoom, HoldsMoveOnlyItems) {
    WaitingRoom<std::unique_ptr<int>> r({2, 2, 5s});
    EXPECT_EQ(r.offer(std::make_unique<int>(7), "a", t0, 0, kFast), WaitOffer::queued);
    auto e = r.take([](const std::string&) { return true; });
    ASSERT_TRUE(e);
    EXPECT_EQ(*e->item, 7);
    EXPECT_EQ(e->address, "a");
    EXPECT_EQ(e->since, t0);
}

TEST(DrainRate, CountsTheLastSecond) {
    DrainRate d;
    EXPECT_EQ(d.per_second(t0), 0.0);
    for (int i = 0; i < 100; ++i) d.freed(t0 + std::chrono::milliseconds(i * 10));  // 1 s
    // At t0 + 1 s the four quarters before hold all 100.
    EXPECT_DOUBLE_EQ(d.per_second(t0 + 1s), 100.0);
    // Half a second later only the last two quarters count.
    EXPECT_DOUBLE_EQ(d.per_second(t0 + 1500ms), 50.0);
    // Long after, nothing.
    EXPECT_EQ(d.per_second(t0 + 10s), 0.0);
    d.freed(t0 + 10s);
    EXPECT_EQ(d.per_second(t0 + 10s), 0.0);  // the current quarter is not complete
    EXPECT_DOUBLE_EQ(d.per_second(t0 + 10250ms), 1.0);
}

}  // namespace
}  // namespace huxiao
