// Bearer tokens (contract §4, §5): who is calling and in which role. Tokens
// are looked up by their SHA-256 in api_tokens; answers are cached briefly so
// a busy console does not query the database on every request, and revoking
// through the admin API drops the cache entry at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

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

class TokenAuthenticator {
  public:
    explicit TokenAuthenticator(db::ReadDb& db) : db_(db) {}

    struct Outcome {
        std::optional<Principal> who;  // nothing: unknown, revoked or malformed token...
        bool unavailable = false;      // ...or the database could not be asked
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
    std::function<void(const std::string&)> on_revoked_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> cache_;  // by token hash
};

// "Bearer abc" -> "abc"
std::optional<std::string> bearer_token(std::string_view authorization);

}  // namespace huxiao
