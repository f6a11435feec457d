// A token bucket for per-connection rate limits: `rate` tokens per second,
// holding at most `burst`. Time is passed in, so it is testable without a clock.
#pragma once

#include <algorithm>
#include <optional>

#include "common/util/time.hpp"

namespace huxiao {

class TokenBucket {
  public:
    TokenBucket(double rate_per_s, double burst)
        : rate_(rate_per_s), burst_(burst), tokens_(burst) {}

    // Takes one token if there is one.
    bool take(UnixMicros now) {
        if (last_ && now > *last_) {
            tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now - *last_) / 1e6);
        }
        last_ = last_ ? std::max(*last_, now) : now;
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

  private:
    double rate_;
    double burst_;
    double tokens_;
    std::optional<UnixMicros> last_;  // none before the first take()
};

}  // namespace huxiao
