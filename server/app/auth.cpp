#include "server/app/auth.hpp"

#include "server/db/auth_queries.hpp"
#include "server/db/registry_store.hpp"

namespace huxiao {

namespace asio = boost::asio;

std::optional<std::string> bearer_token(std::string_view authorization) {
    constexpr std::string_view prefix = "Bearer ";
    if (authorization.size() <= prefix.size() || authorization.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    return std::string(authorization.substr(prefix.size()));
}

void TokenAuthenticator::forget_all() {
    std::lock_guard lock(mutex_);
    valid_.clear();
    unknown_.clear();
    ++generation_;
}

void TokenAuthenticator::revoked(const std::string& name) {
    forget_all();
    if (on_revoked_) on_revoked_(name);
}

asio::awaitable<TokenAuthenticator::Outcome> TokenAuthenticator::authenticate(
    const std::string& token) {
    if (token.empty() || token.size() > 256) co_return Outcome{};
    const std::string hash = db::token_hash_hex(token);
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        for (const auto* cache : {&valid_, &unknown_}) {
            auto it = cache->find(hash);
            if (it != cache->end() && it->second.expires > now)
                co_return Outcome{it->second.principal, false};
        }
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
        if (!lookups_.take(micros)) co_return Outcome{std::nullopt, true};
        generation = generation_;
    }
    const auto found = co_await db::find_active_token(db_, hash);
    if (found.failure) co_return Outcome{std::nullopt, true};
    std::optional<Principal> principal;
    if (found.value) {
        const db::TokenRow& t = *found.value;
        principal = Principal{t.name, t.role, t.unit, t.districts};
    }
    std::lock_guard lock(mutex_);
    if (generation == generation_) {
        auto& cache = principal ? valid_ : unknown_;
        if (cache.size() >= limits_.max_cached) cache.clear();
        cache[hash] = Entry{principal, now + std::chrono::seconds(principal ? 60 : 5)};
    }
    co_return Outcome{principal, false};
}

}  // namespace huxiao
