// How a client of huxiao (a school terminal, a unit's app, huxiao-sim and
// huxiao-bench) reconnects; docs/terminals.md recommends it to vendors.
//
// Exponential back-off with full jitter: after the n-th failure in a row the
// client waits a uniformly random time in [0, min(cap, first * 2^(n-1))].
// After a server restart or a network outage twenty thousand terminals lose
// their connections in the same second; with full jitter their reconnects
// spread over the window instead of arriving together again and again, and a
// server that answers `unavailable` sees the load fall off instead of pulse.
//
// Several server addresses (a hot-standby pair, contract §8) are tried in
// turn: each failure moves to the next address, and a working one is kept.
// Pure: the caller brings the random numbers and the timers.
#pragma once

#include <chrono>
#include <cstddef>

namespace huxiao {

class ReconnectPolicy {
  public:
    struct Limits {
        std::chrono::milliseconds first{1000};  // the window after the first failure
        // The widest window: 10 s, not 30 (docs/performance.md §12.8: the
        // last terminals back after a restart are those in the widest windows).
        std::chrono::milliseconds cap{10000};
    };

    // `addresses` >= 1; `first` >= 1 ms and `cap` >= `first` (else
    // std::invalid_argument: a programmer error).
    ReconnectPolicy(std::size_t addresses, Limits limits);

    // Index of the address to connect to now.
    std::size_t address() const { return address_; }
    // Failures since the last welcome.
    int failures_in_a_row() const { return failures_; }

    // After a failed attempt (refused, TLS, `unavailable`, no welcome) or a
    // lost connection: how long to wait before trying address(), which has
    // moved on to the next address. `random01` is uniform in [0, 1).
    std::chrono::milliseconds failed(double random01);
    // After a welcome: the next failure starts again at the first window,
    // and this address is kept.
    void connected() { failures_ = 0; }

    // The window the next failure will draw from.
    std::chrono::milliseconds next_window() const;

  private:
    std::size_t addresses_;
    Limits limits_;
    std::size_t address_ = 0;
    int failures_ = 0;
};

}  // namespace huxiao
