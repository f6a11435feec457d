// The API's queries for administration (contract §5: the registry's records
// and the API tokens): SQL text and reading its rows; the handlers keep the
// bodies, the checks and JSON. Writes go through ReadDb::query/transaction,
// so that a fenced leader's write fails (docs/availability.md §6).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/model/registry_import.hpp"
#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

// The registry's tables the admin API lists and deletes from.
enum class RegistryTable { schools, terminals, units, guard_posts };

// The ids of districts, schools and units, for checking new records.
boost::asio::awaitable<DbResult<KnownIds>> known_ids(ReadDb& db);
// Inserts or updates the records, all or nothing.
boost::asio::awaitable<std::optional<PgFailure>> upsert_registry(ReadDb& db,
                                                                 const Registry& registry);
// Every row of `table` as JSON objects (row_to_json), ordered by the first column.
boost::asio::awaitable<DbResult<nlohmann::json>> list_records(ReadDb& db, RegistryTable table);
// Whether a row was deleted: `id` names a school, terminal or unit.
boost::asio::awaitable<DbResult<bool>> delete_record(ReadDb& db, RegistryTable table,
                                                     const std::string& id);
boost::asio::awaitable<DbResult<bool>> delete_guard_post(ReadDb& db, const std::string& school,
                                                         const std::string& unit);

// Every token (never its hash) as JSON objects, in the order created.
boost::asio::awaitable<DbResult<nlohmann::json>> list_tokens(ReadDb& db);
// The first id of `districts` (a JSON array) that names no district.
boost::asio::awaitable<DbResult<std::optional<std::string>>> unknown_district(
    ReadDb& db, const std::string& districts);
struct NewToken {
    std::string name;
    std::string role;
    std::optional<std::string> unit;
    std::optional<std::string> districts;  // a JSON array of district ids
    std::string hash_hex;                  // token_hash_hex of the token
};
// false: a token of this name exists (nothing written).
boost::asio::awaitable<DbResult<bool>> insert_token(ReadDb& db, const NewToken& token);
// false: no active token of this name.
boost::asio::awaitable<DbResult<bool>> revoke_token(ReadDb& db, const std::string& name);

}  // namespace huxiao::db
