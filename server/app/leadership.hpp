// Leadership: this server's side of contract §8 (docs/availability.md).
//
// A thread of its own, on a blocking connection of its own, so that neither
// a slow database nor busy I/O threads delay a renewal. As a standby it tries
// to take the lease every poll interval, and again just after the holder's
// lease runs out, and remembers who holds it (for /readyz). Once it holds
// the lease it renews it every quarter TTL; `held()` says, by this process'
// monotonic clock alone (ha::LeaseTimer), whether the lease is certainly
// still ours. The server checks that often and steps down the moment it is
// not, even when the database cannot be reached at all.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/config/config.hpp"
#include "common/ha/lease_timer.hpp"
#include "server/db/lease_store.hpp"

namespace huxiao {

class Leadership {
  public:
    struct Hooks {
        // The lease was taken with `epoch` (called on the leadership thread).
        std::function<void(std::int64_t epoch)> acquired;
        // The database says the lease is no longer ours (called on the
        // leadership thread, at most once).
        std::function<void(const std::string& why)> lost;
    };

    Leadership(const Config& config, Hooks hooks);
    ~Leadership();

    void start();
    // Stops the thread; a leader hands its lease over at once (a standby
    // then takes over within its poll interval instead of the TTL).
    void stop_and_release();

    bool leading() const { return epoch_.load() != 0; }
    std::int64_t epoch() const { return epoch_.load(); }
    // True while this leader may still accept and acknowledge work.
    bool held() const;
    // The leader last seen by this standby (nothing before anyone led).
    std::optional<db::LeaseHolder> leader() const;

  private:
    void run();
    void sleep_until(std::chrono::steady_clock::time_point t);
    void confirm(std::chrono::steady_clock::time_point sent);

    const std::string conninfo_;
    const HaConfig ha_;
    Hooks hooks_;
    ha::LeaseTimer timer_;
    std::atomic<std::int64_t> epoch_{0};
    // steady_clock ticks until which held() is true; 0 when not held.
    std::atomic<std::int64_t> valid_until_{0};
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::optional<db::LeaseHolder> leader_;
    std::thread thread_;
};

}  // namespace huxiao
