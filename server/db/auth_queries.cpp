#include "server/db/auth_queries.hpp"

#include <nlohmann/json.hpp>

#include "server/db/read_db.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

asio::awaitable<DbResult<std::optional<TokenRow>>> find_active_token(ReadDb& db,
                                                                     const std::string& hash_hex) {
    // Named values, not temporaries, inside co_await: GCC 12 mishandles those.
    const std::vector<std::optional<std::string>> params{hash_hex};
    const std::string sql =
        "SELECT name, role, unit_id, coalesce(array_to_json(districts), '[]') AS districts"
        " FROM api_tokens WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL";
    auto outcome = co_await db.query(sql, params);
    DbResult<std::optional<TokenRow>> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    if (rows.size() != 1) co_return out;
    TokenRow t;
    t.name = rows.text(0, rows.column("name"));
    t.role = rows.text(0, rows.column("role"));
    t.unit = rows.optional_text(0, rows.column("unit_id"));
    // A JSON array, so a district id may hold any character (no splitting on ',').
    for (const auto& d : rows.json(0, rows.column("districts"))) {
        if (d.is_string()) t.districts.push_back(d.get<std::string>());
    }
    out.value = std::move(t);
    co_return out;
}

}  // namespace huxiao::db
