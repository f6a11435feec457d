// The server's wall clock. Shell classes that need the time of day (the
// Dispatcher, the intakes, the sessions' rate limits and welcome frames) take
// a `const Clock&` instead of reading the system clock themselves, so that a
// test can run them on a ManualClock and move time on by hand: a supervision
// window or an offer deadline then passes when the test says so, and the test
// waits for the resulting event instead of sleeping through the window.
//
// Durations that only bound a wait (timeouts, deadlines of I/O) stay on
// std::chrono::steady_clock: they are not times of day and never reach the
// timeline. `system_now()` is for the few places with no clock to hand (the
// log's timestamps, the process-wide SystemClock itself).
#pragma once

#include <atomic>
#include <chrono>

#include "common/model/time_point.hpp"
#include "common/util/time.hpp"

namespace huxiao {

inline UnixMicros system_now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class Clock {
  public:
    virtual ~Clock() = default;
    virtual UnixMicros now() const = 0;
    TimePoint time_point() const { return from_unix_micros(now()); }
};

// The real one: std::chrono::system_clock, to the microsecond.
class SystemClock final : public Clock {
  public:
    UnixMicros now() const override { return system_now(); }
};

// The one SystemClock of the process, for wiring and tools.
inline const Clock& system_clock() {
    static const SystemClock clock;
    return clock;
}

// A clock that moves only when told (tests). Thread-safe: the test thread
// advances it while the server's threads read it.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(UnixMicros start) : now_(start) {}
    UnixMicros now() const override { return now_.load(); }
    void advance(std::chrono::microseconds by) { now_.fetch_add(by.count()); }
    void set(UnixMicros to) { now_.store(to); }

  private:
    std::atomic<UnixMicros> now_;
};

}  // namespace huxiao
