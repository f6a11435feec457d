// The one place the server reads the wall clock. Everything below takes
// `now` as a value so that tests can drive time.
#pragma once

#include <chrono>

#include "common/util/time.hpp"

namespace huxiao {

inline UnixMicros system_now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace huxiao
