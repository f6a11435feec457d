// Reading and writing the registry (contract §7) and API tokens in
// PostgreSQL. Blocking (PgSync): used at start-up, by the command-line
// subcommands, and off the I/O threads for refreshes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/model/registry.hpp"
#include "common/model/registry_import.hpp"

namespace huxiao::db {

class PgSync;
struct PgQuery;

Registry load_registry(PgSync& db);
KnownIds load_known_ids(PgSync& db);

struct ImportCounts {
    std::size_t districts = 0, schools = 0, terminals = 0, units = 0, guard_posts = 0;
};

// The statements that upsert `registry` (in dependency order), for callers
// that run them in their own transaction.
std::vector<PgQuery> upsert_queries(const Registry& registry);

// Upserts everything in one transaction: all or nothing. Checks what only the
// database can (time zone names); errors name the record and field.
// Throws std::runtime_error listing the problems.
ImportCounts import_registry(PgSync& db, const Registry& registry);

struct TokenInfo {
    std::string name;
    std::string role;
    std::optional<std::string> unit;
    std::vector<std::string> districts;
};

// Creates a token and returns it; only its SHA-256 is stored. Throws
// std::runtime_error for a bad role, a unit token without a known unit, or a
// name already taken.
std::string create_token(PgSync& db, const TokenInfo& info);
// Marks the active token `name` revoked; false when there is none. Running
// servers hear of it through sql/011's notice and end its sessions.
bool revoke_token(PgSync& db, const std::string& name);

// Hex SHA-256 of a token, as stored.
std::string token_hash_hex(const std::string& token);

}  // namespace huxiao::db
