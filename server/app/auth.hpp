// Bearer tokens (contract §4, §5): who is calling and in which role. Tokens
// are looked up by their SHA-256 in api_tokens; answers are cached briefly so
// a busy console does not query the database on every request, and a
// revocation (admin API or a change notice, server/db/change_listener) drops
// the cache at once.
//
// Look-ups of tokens not in the cache share one budget (AuthLimits): a flood
// of made-up tokens costs the read connections, which every API request also
// needs, at most that many queries per second, and is answered `unavailable`
// beyond it. Valid and unknown tokens are cached apart, so junk never evicts
// the tokens of real consoles and units.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/util/token_bucket.hpp"

namespace huxiao {

namespace db {
class ReadDb;
}

struct Principal {
    std::string name;
    std::string role;  // admin | dispatcher | auditor | education | unit | inspector
    std::optional<std::string> unit;
    std::vector<std::string> districts;  // education tokens may be limited to these

    bool is(std::initializer_list<const char*> roles) const {
        for (const char* r : roles) {
            if (role == r) return true;
        }
        return false;
    }
};

struct AuthLimits {
    // Database look-ups of tokens that are not cached. After a restart every
    // console and unit comes back at once: the burst lets two thousand in
    // together, the rest within seconds (each retries after `unavailable`).
    double lookups_per_s = 200;
    double lookup_burst = 2000;
    // Entries of each cache (valid, unknown) before it is emptied.
    std::size_t max_cached = 10000;
};

class TokenAuthenticator {
  public:
    explicit TokenAuthenticator(db::ReadDb& db, AuthLimits limits = {})
        : db_(db), limits_(limits), lookups_(limits.lookups_per_s, limits.lookup_burst) {}

    struct Outcome {
        std::optional<Principal> who;  // nothing: unknown, revoked or malformed token...
        bool unavailable = false;      // ...or the database could not (or may not yet) be asked
    };
    // `token` must outlive the await (callers pass a named variable).
    boost::asio::awaitable<Outcome> authenticate(const std::string& token);
    void forget_all();
    // The token `name` was revoked: the cache forgets it, and whoever
    // listens (the Dispatcher, which ends its open sessions) is told.
    void revoked(const std::string& name);
    // Set once at start-up, before any request.
    void on_revoked(std::function<void(const std::string& name)> listener) {
        on_revoked_ = std::move(listener);
    }

  private:
    struct Entry {
        std::optional<Principal> principal;
        std::chrono::steady_clock::time_point expires;
    };
    db::ReadDb& db_;
    AuthLimits limits_;
    std::function<void(const std::string&)> on_revoked_;
    std::mutex mutex_;                                // guards everything below
    std::unordered_map<std::string, Entry> valid_;    // by token hash
    std::unordered_map<std::string, Entry> unknown_;  // by token hash
    TokenBucket lookups_;
    // Counts forget_all(): a look-up that started before one may carry an
    // answer from before the revocation, so it is not cached.
    std::uint64_t generation_ = 0;
};

// "Bearer abc" -> "abc"
std::optional<std::string> bearer_token(std::string_view authorization);

}  // namespace huxiao
