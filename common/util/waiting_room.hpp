// WaitingRoom: connections accepted while the handshake budget
// (ConnectionBudget's max_unauthenticated, overall or per address) is full
// wait here, first in first out, and start their handshakes as places free,
// instead of being closed at accept. A reconnect storm then keeps the
// server's handshakes going at its full rate without the terminals' back-off
// windows growing to 16-30 s (docs/performance.md §12.3, §12.7).
//
// Every wait is bounded:
//   * `capacity` connections at most, `per_address` at most from one address;
//   * a connection is taken in only if it could finish its handshake within
//     `max_wait` (the listener's handshake_timeout_s) at the rate places have
//     been freeing (DrainRate): ahead of it are those waiting and those in
//     their handshakes. Others are refused at once, which costs nothing;
//   * a connection still waiting after `max_wait` is dropped (expire()).
// Pure: the caller brings the clock and the places (ConnectionBudget).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace huxiao {

using WaitClock = std::chrono::steady_clock;

// Places freed per second (handshakes that ended, authenticated or not),
// measured over the last second in quarter-second buckets.
class DrainRate {
  public:
    void freed(WaitClock::time_point now) {
        roll(now);
        ++buckets_[current_ % kBuckets];
    }
    // Over the last four complete quarters; 0 before any.
    double per_second(WaitClock::time_point now) {
        roll(now);
        std::uint64_t sum = 0;
        for (std::size_t i = 1; i <= kWindow; ++i)
            sum += buckets_[(current_ + kBuckets - i) % kBuckets];
        return static_cast<double>(sum) * 1000.0 / static_cast<double>(kWindow * kBucketMs);
    }

  private:
    static constexpr std::size_t kBuckets = 8;
    static constexpr std::size_t kWindow = 4;
    static constexpr std::int64_t kBucketMs = 250;
    void roll(WaitClock::time_point now) {
        const auto index = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() /
            kBucketMs);
        if (!started_) {
            started_ = true;
            current_ = index;
        }
        if (index <= current_) return;
        const auto steps = std::min<std::uint64_t>(index - current_, kBuckets);
        for (std::uint64_t i = 1; i <= steps; ++i) buckets_[(current_ + i) % kBuckets] = 0;
        current_ = index;
    }
    std::array<std::uint64_t, kBuckets> buckets_{};
    std::uint64_t current_ = 0;
    bool started_ = false;
};

struct WaitingLimits {
    std::size_t capacity = 0;     // 0: no waiting room, refused at accept as before
    std::size_t per_address = 0;  // 0: none from one address
    WaitClock::duration max_wait = std::chrono::seconds(5);
};

enum class WaitOffer {
    queued,
    full,         // `capacity` wait already
    per_address,  // `per_address` wait from this address already
    too_slow,     // could not finish within max_wait at the measured rate
};

const char* to_string(WaitOffer offer);

template <typename T>
class WaitingRoom {
  public:
    struct Entry {
        T item;
        std::string address;
        WaitClock::time_point since;
    };

    explicit WaitingRoom(WaitingLimits limits) : limits_(limits) {}

    // `in_handshake`: connections holding a place now; `drain_per_s`: the
    // rate places free (the caller's floor when nothing was measured yet).
    WaitOffer offer(T&& item, const std::string& address, WaitClock::time_point now,
                    std::size_t in_handshake, double drain_per_s) {
        if (entries_.size() >= limits_.capacity) return WaitOffer::full;
        auto it = by_address_.find(address);
        const std::size_t from = it == by_address_.end() ? 0 : it->second;
        if (from >= limits_.per_address) return WaitOffer::per_address;
        const double ahead = static_cast<double>(entries_.size() + in_handshake + 1);
        const double max_wait_s = std::chrono::duration<double>(limits_.max_wait).count();
        if (drain_per_s <= 0.0 || ahead > drain_per_s * max_wait_s) return WaitOffer::too_slow;
        entries_.push_back(Entry{std::move(item), address, now});
        ++by_address_[address];
        return WaitOffer::queued;
    }

    // The oldest entry whose wait has run out at `now`, if any (call until
    // none; they are at the front, in order).
    std::optional<Entry> take_expired(WaitClock::time_point now) {
        if (entries_.empty() || now - entries_.front().since < limits_.max_wait)
            return std::nullopt;
        return pop(0);
    }

    // The oldest entry `may_start(address)` accepts, looking at most at
    // `scan` entries from the front (an address at its cap of handshakes is
    // passed over, so the others are not held up behind it).
    template <typename MayStart>
    std::optional<Entry> take(MayStart&& may_start, std::size_t scan = 64) {
        const std::size_t n = std::min(scan, entries_.size());
        for (std::size_t i = 0; i < n; ++i) {
            if (may_start(entries_[i].address)) return pop(i);
        }
        return std::nullopt;
    }

    // When the oldest entry's wait runs out.
    std::optional<WaitClock::time_point> next_expiry() const {
        if (entries_.empty()) return std::nullopt;
        return entries_.front().since + limits_.max_wait;
    }

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    std::size_t waiting_from(const std::string& address) const {
        auto it = by_address_.find(address);
        return it == by_address_.end() ? 0 : it->second;
    }
    const WaitingLimits& limits() const { return limits_; }

  private:
    Entry pop(std::size_t i) {
        Entry e = std::move(entries_[i]);
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
        auto it = by_address_.find(e.address);
        if (it != by_address_.end() && --it->second == 0) by_address_.erase(it);
        return e;
    }

    WaitingLimits limits_;
    std::deque<Entry> entries_;
    std::unordered_map<std::string, std::size_t> by_address_;
};

}  // namespace huxiao
