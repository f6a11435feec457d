#include "common/util/connection_budget.hpp"

namespace huxiao {

const char* to_string(Refusal refusal) {
    switch (refusal) {
        case Refusal::none:
            return "none";
        case Refusal::per_address:
            return "per_address";
        case Refusal::unauthenticated:
            return "unauthenticated";
        case Refusal::max_connections:
            return "max_connections";
    }
    return "?";
}

Refusal ConnectionBudget::admit(const std::string& address) {
    if (unauthenticated_ >= limits_.max_unauthenticated) return Refusal::unauthenticated;
    auto& from = by_address_[address];
    if (from >= limits_.max_unauthenticated_per_address) return Refusal::per_address;
    ++from;
    ++unauthenticated_;
    return Refusal::none;
}

Refusal ConnectionBudget::authenticate(const std::string& address) {
    if (authenticated_ >= limits_.max_authenticated) return Refusal::max_connections;
    release(address, false);
    ++authenticated_;
    return Refusal::none;
}

void ConnectionBudget::release(const std::string& address, bool authenticated) {
    if (authenticated) {
        if (authenticated_ > 0) --authenticated_;
        return;
    }
    if (unauthenticated_ > 0) --unauthenticated_;
    // Entries go with their last connection, so a scan of many addresses
    // leaves no trace behind.
    if (auto it = by_address_.find(address); it != by_address_.end() && --it->second == 0) {
        by_address_.erase(it);
    }
}

std::size_t ConnectionBudget::unauthenticated_from(const std::string& address) const {
    auto it = by_address_.find(address);
    return it == by_address_.end() ? 0 : it->second;
}

}  // namespace huxiao
