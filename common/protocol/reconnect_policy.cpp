#include "common/protocol/reconnect_policy.hpp"

#include <algorithm>
#include <stdexcept>

namespace huxiao {

ReconnectPolicy::ReconnectPolicy(std::size_t addresses, Limits limits)
    : addresses_(addresses), limits_(limits) {
    if (addresses == 0) throw std::invalid_argument("ReconnectPolicy: no address");
    if (limits.first.count() < 1 || limits.cap < limits.first) {
        throw std::invalid_argument("ReconnectPolicy: need 1 ms <= first <= cap");
    }
}

std::chrono::milliseconds ReconnectPolicy::next_window() const {
    // Doubling stops at the cap; counting the doublings keeps it from overflowing.
    auto window = limits_.first;
    for (int i = 0; i < failures_ && window < limits_.cap; ++i) window *= 2;
    return std::min(window, limits_.cap);
}

std::chrono::milliseconds ReconnectPolicy::failed(double random01) {
    const auto window = next_window();
    ++failures_;
    address_ = (address_ + 1) % addresses_;
    const double r = std::clamp(random01, 0.0, 1.0);
    return std::chrono::milliseconds(
        static_cast<long long>(r * static_cast<double>(window.count())));
}

}  // namespace huxiao
