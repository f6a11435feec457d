// Waiting for what happens behind an answer: a row written after the ack, a
// status transition, a log line. The tests wait for the event itself, polling
// `probe` until it holds, and give up after `within` (a bound on a hang, not a
// performance figure: no test asserts how long anything took; bench/ does).
//
//     std::vector<std::string> rows;
//     EXPECT_TRUE(eventually([&] { rows = db.column(sql); return rows.size() == 2; }));
//     EXPECT_EQ(rows, expected);  // prints what was last seen when it never held
#pragma once

#include <chrono>
#include <thread>

namespace huxiao::test {

inline constexpr std::chrono::milliseconds kEventuallyWithin{15'000};
inline constexpr std::chrono::milliseconds kEventuallyEvery{20};

template <class Probe>
bool eventually(Probe&& probe, std::chrono::milliseconds within = kEventuallyWithin,
                std::chrono::milliseconds every = kEventuallyEvery) {
    const auto until = std::chrono::steady_clock::now() + within;
    for (;;) {
        if (probe()) return true;
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(every);
    }
}

}  // namespace huxiao::test
