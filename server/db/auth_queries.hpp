// The query behind bearer-token authentication (server/app/auth): an active
// token by the SHA-256 of its text.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

struct TokenRow {
    std::string name;
    std::string role;
    std::optional<std::string> unit;
    std::vector<std::string> districts;  // empty: none named
};

// nullopt: no active (unrevoked) token with this hash.
boost::asio::awaitable<DbResult<std::optional<TokenRow>>> find_active_token(
    ReadDb& db, const std::string& hash_hex);

}  // namespace huxiao::db
