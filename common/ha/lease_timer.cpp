#include "common/ha/lease_timer.hpp"

#include <algorithm>

namespace huxiao::ha {

using std::chrono::milliseconds;

// A quarter of the TTL: with the default 3 s the leader stops acting 2.25 s
// after its last successful renewal was sent, and renews every 0.75 s.
LeaseTimer::LeaseTimer(milliseconds ttl) : ttl_(ttl), margin_(std::max(ttl / 4, milliseconds(1))) {}

void LeaseTimer::confirmed(Clock::time_point sent) {
    if (!last_confirmed_sent_ || sent > *last_confirmed_sent_) last_confirmed_sent_ = sent;
}

void LeaseTimer::lost() { last_confirmed_sent_.reset(); }

std::optional<LeaseTimer::Clock::time_point> LeaseTimer::valid_until() const {
    if (!last_confirmed_sent_) return std::nullopt;
    return *last_confirmed_sent_ + ttl_ - margin_;
}

bool LeaseTimer::held(Clock::time_point now) const {
    const auto until = valid_until();
    return until && now < *until;
}

LeaseTimer::Clock::time_point LeaseTimer::next_renewal(Clock::time_point last_sent) const {
    return last_sent + std::max(ttl_ / 4, milliseconds(1));
}

milliseconds LeaseTimer::poll_interval() const {
    return std::clamp(ttl_ / 4, milliseconds(100), milliseconds(1000));
}

// A little after the expiry, so that the database's clock agrees even when
// the two clocks run at slightly different rates over the remaining time.
constexpr milliseconds kAfterExpiry{5};

LeaseTimer::Clock::time_point LeaseTimer::standby_next_try(
    Clock::time_point answered, std::optional<milliseconds> remaining) const {
    const Clock::time_point poll = answered + poll_interval();
    if (!remaining) return poll;
    return std::min(poll, answered + std::max(*remaining, milliseconds(0)) + kAfterExpiry);
}

milliseconds LeaseTimer::retry_interval() const {
    return std::clamp(ttl_ / 12, milliseconds(50), milliseconds(250));
}

}  // namespace huxiao::ha
