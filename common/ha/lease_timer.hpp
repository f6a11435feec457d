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
    // When a standby tries again after it found the lease held by another
    // server with `remaining` left by the database's clock, an answer it had
    // at `answered`: at the next poll, or just after the holder's lease runs
    // out when that comes first (a killed leader is replaced at its lease's
    // expiry, not up to a poll interval later). `remaining` was measured
    // before `answered`, so by then the lease has expired by the database's
    // clock too. Nothing known about the lease: the next poll.
    Clock::time_point standby_next_try(Clock::time_point answered,
                                       std::optional<std::chrono::milliseconds> remaining) const;
    // How soon a standby tries again when the database could not be reached
    // or answered with an error (a database failover in progress): sooner
    // than a poll, so that it takes over soon after a new primary accepts
    // writes. Each try is one connection attempt, cheap while the hosts
    // refuse at once.
    std::chrono::milliseconds retry_interval() const;

    std::chrono::milliseconds ttl() const { return ttl_; }
    std::chrono::milliseconds margin() const { return margin_; }

  private:
    std::chrono::milliseconds ttl_;
    std::chrono::milliseconds margin_;
    std::optional<Clock::time_point> last_confirmed_sent_;
};

}  // namespace huxiao::ha
