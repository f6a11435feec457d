// Schema migrations: the numbered files of sql/, compiled into the binary and
// applied in order, each once, recorded in schema_migrations. An advisory lock
// keeps two processes (e.g. `serve` and `migrate`) from applying them at once.
#pragma once

#include <string>
#include <vector>

namespace huxiao::db {

struct Migration {
    int version;
    std::string name;
    std::string sql;
};

const std::vector<Migration>& embedded_migrations();

class PgSync;

// Applies what is pending; returns the names applied (empty when up to date).
// Throws std::runtime_error naming the migration that failed.
std::vector<std::string> apply_migrations(PgSync& db);

}  // namespace huxiao::db
