// When a leader may still act on its lease, by its own monotonic clock
// (contract §8; docs/availability.md).
//
// The lease row expires `ttl` after the database handled the last renewal,
// by the database's clock. The holder cannot read that clock, but it knows
// that the renewal was handled after it was sent: by the holder's clock the
// lease lasts at least until `sent + ttl`. It stops acting a safety margin
// before that (clocks drift, a step-down takes time), so a standby can only
// take over once the old leader has already stepped down — unless it was
// paused, which fencing in the database covers (sql/012).
//
// Pure: times are passed in, so the rules are unit-tested without a clock.
#pragma once

#include <chrono>
#include <optional>

namespace huxiao::ha {

class LeaseTimer {
  public:
    using Clock = std::chrono::steady_clock;

    explicit LeaseTimer(std::chrono::milliseconds ttl);

    // The acquisition or renewal sent at `sent` succeeded. A late answer to
    // an older request never shortens what a newer one established.
    void confirmed(Clock::time_point sent);
    // The lease is known lost (taken over, or never acquired).
    void lost();

    // True while the holder may still accept and acknowledge work.
    bool held(Clock::time_point now) const;
    // The last moment at which held() is true; nothing when not held at all.
    std::optional<Clock::time_point> valid_until() const;
    // When the holder should send its next renewal: often enough that two
    // renewals can fail before it has to step down.
    Clock::time_point next_renewal(Clock::time_point last_sent) const;
    // How often a standby tries to acquire the lease.
    std::chrono::milliseconds poll_interval() const;

    std::chrono::milliseconds ttl() const { return ttl_; }
    std::chrono::milliseconds margin() const { return margin_; }

  private:
    std::chrono::milliseconds ttl_;
    std::chrono::milliseconds margin_;
    std::optional<Clock::time_point> last_confirmed_sent_;
};

}  // namespace huxiao::ha
