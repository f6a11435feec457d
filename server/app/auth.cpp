#include "server/app/auth.hpp"

#include <nlohmann/json.hpp>

#include "server/db/read_db.hpp"
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
    // Named values, not temporaries, inside co_await: GCC 12 mishandles those.
    std::vector<std::optional<std::string>> params{hash};
    const std::string sql =
        "SELECT name, role, unit_id, coalesce(array_to_json(districts), '[]') FROM api_tokens "
        "WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL";
    auto outcome = co_await db_.query(sql, params);
    if (outcome.failure) co_return Outcome{std::nullopt, true};
    std::optional<Principal> principal;
    const PGresult* r = outcome.results.at(0).get();
    if (PQntuples(r) == 1) {
        Principal p;
        p.name = db::cell(r, 0, 0);
        p.role = db::cell(r, 0, 1);
        if (!PQgetisnull(r, 0, 2)) p.unit = db::cell(r, 0, 2);
        // A JSON array, so a district id may hold any character (no splitting on ',').
        const auto districts = nlohmann::json::parse(db::cell(r, 0, 3), nullptr, false);
        if (districts.is_array()) {
            for (const auto& d : districts) {
                if (d.is_string()) p.districts.push_back(d.get<std::string>());
            }
        }
        principal = std::move(p);
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
