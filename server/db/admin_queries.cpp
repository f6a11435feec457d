#include "server/db/admin_queries.hpp"

#include "server/db/read_db.hpp"
#include "server/db/registry_store.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

const char* table_name(RegistryTable table) {
    switch (table) {
        case RegistryTable::schools:
            return "schools";
        case RegistryTable::terminals:
            return "terminals";
        case RegistryTable::units:
            return "units";
        case RegistryTable::guard_posts:
            return "guard_posts";
    }
    return "schools";
}

// The one JSON value a json_agg query answers.
asio::awaitable<DbResult<nlohmann::json>> json_of(ReadDb& db, const std::string& sql) {
    const std::vector<std::optional<std::string>> none;
    auto outcome = co_await db.query(sql, none);
    DbResult<nlohmann::json> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    out.value = rows.json(0, rows.column("items"));
    co_return out;
}

// Whether the one write of `sql` touched a row.
asio::awaitable<DbResult<bool>> wrote_a_row(ReadDb& db, const std::string& sql,
                                            const std::vector<std::optional<std::string>>& params) {
    auto outcome = co_await db.query(sql, params);
    DbResult<bool> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    out.value = Rows(outcome.results.at(0)).affected() != 0;
    co_return out;
}

}  // namespace

asio::awaitable<DbResult<KnownIds>> known_ids(ReadDb& db) {
    const std::string sql =
        "SELECT 'd' AS kind, id FROM districts UNION ALL SELECT 's', id FROM schools UNION ALL "
        "SELECT 'u', id FROM units";
    const std::vector<std::optional<std::string>> none;
    auto outcome = co_await db.query(sql, none);
    DbResult<KnownIds> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    const auto kind = rows.column("kind"), id = rows.column("id");
    KnownIds& ids = out.value;
    for (int i = 0; i < rows.size(); ++i) {
        const std::string k = rows.text(i, kind);
        (k == "d" ? ids.districts : k == "s" ? ids.schools : ids.units).insert(rows.text(i, id));
    }
    co_return out;
}

asio::awaitable<std::optional<PgFailure>> upsert_registry(ReadDb& db, const Registry& registry) {
    std::vector<PgQuery> queries = upsert_queries(registry);
    auto outcome = co_await db.transaction(std::move(queries));
    co_return std::move(outcome.failure);
}

asio::awaitable<DbResult<nlohmann::json>> list_records(ReadDb& db, RegistryTable table) {
    const std::string sql =
        std::string(
            "SELECT coalesce(json_agg(row_to_json(x)), '[]') AS items FROM (SELECT * FROM ") +
        table_name(table) + " ORDER BY 1) x";
    co_return co_await json_of(db, sql);
}

asio::awaitable<DbResult<bool>> delete_record(ReadDb& db, RegistryTable table,
                                              const std::string& id) {
    const std::string sql = std::string("DELETE FROM ") + table_name(table) + " WHERE id = $1";
    const std::vector<std::optional<std::string>> params{id};
    co_return co_await wrote_a_row(db, sql, params);
}

asio::awaitable<DbResult<bool>> delete_guard_post(ReadDb& db, const std::string& school,
                                                  const std::string& unit) {
    const std::string sql = "DELETE FROM guard_posts WHERE school_id = $1 AND unit_id = $2";
    const std::vector<std::optional<std::string>> params{school, unit};
    co_return co_await wrote_a_row(db, sql, params);
}

asio::awaitable<DbResult<nlohmann::json>> list_tokens(ReadDb& db) {
    const std::string sql =
        "SELECT coalesce(json_agg(json_build_object('name', name, 'role', role, 'unit', unit_id,"
        " 'districts', districts, 'created_at', created_at, 'revoked_at', revoked_at) ORDER BY "
        "id), '[]') AS items"
        " FROM api_tokens";
    co_return co_await json_of(db, sql);
}

asio::awaitable<DbResult<std::optional<std::string>>> unknown_district(
    ReadDb& db, const std::string& districts) {
    const std::string sql =
        "SELECT d FROM json_array_elements_text($1::json) d "
        "WHERE d NOT IN (SELECT id FROM districts) LIMIT 1";
    const std::vector<std::optional<std::string>> params{districts};
    auto outcome = co_await db.query(sql, params);
    DbResult<std::optional<std::string>> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    if (!rows.empty()) out.value = rows.text(0, rows.column("d"));
    co_return out;
}

asio::awaitable<DbResult<bool>> insert_token(ReadDb& db, const NewToken& token) {
    const std::string sql =
        "INSERT INTO api_tokens (name, role, unit_id, districts, token_hash) "
        "VALUES ($1, $2, $3, CASE WHEN $4::json IS NULL THEN NULL ELSE "
        "ARRAY(SELECT json_array_elements_text($4::json)) END, decode($5, 'hex')) "
        "ON CONFLICT (name) DO NOTHING";
    const std::vector<std::optional<std::string>> params{token.name, token.role, token.unit,
                                                         token.districts, token.hash_hex};
    co_return co_await wrote_a_row(db, sql, params);
}

asio::awaitable<DbResult<bool>> revoke_token(ReadDb& db, const std::string& name) {
    const std::string sql =
        "UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL";
    const std::vector<std::optional<std::string>> params{name};
    co_return co_await wrote_a_row(db, sql, params);
}

}  // namespace huxiao::db
