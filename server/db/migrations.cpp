#include "server/db/migrations.hpp"

#include <set>
#include <stdexcept>

#include "server/db/pg_connection.hpp"

namespace huxiao::db {

namespace {
void exec_script(PgSync& db, const std::string& sql) {
    PgResult r(PQexec(db.raw(), sql.c_str()));
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string message = PQresultErrorMessage(r.get());
        while (!message.empty() && message.back() == '\n') message.pop_back();
        throw std::runtime_error(message);
    }
}
}  // namespace

std::vector<std::string> apply_migrations(PgSync& db) {
    exec_script(db,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())");
    exec_script(db, "SELECT pg_advisory_lock(7443001)");
    std::vector<std::string> applied;
    try {
        std::set<int> done;
        PgResult r = db.exec("SELECT version FROM schema_migrations");
        for (int i = 0; i < PQntuples(r.get()); ++i) done.insert(std::stoi(cell(r.get(), i, 0)));
        for (const auto& m : embedded_migrations()) {
            if (done.count(m.version)) continue;
            exec_script(db, "BEGIN");
            try {
                exec_script(db, m.sql);
                db.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        {std::to_string(m.version), m.name});
                exec_script(db, "COMMIT");
            } catch (const std::exception& e) {
                exec_script(db, "ROLLBACK");
                throw std::runtime_error("migration " + m.name + " failed: " + e.what());
            }
            applied.push_back(m.name);
        }
    } catch (...) {
        exec_script(db, "SELECT pg_advisory_unlock(7443001)");
        throw;
    }
    exec_script(db, "SELECT pg_advisory_unlock(7443001)");
    return applied;
}

}  // namespace huxiao::db
