#include "server/db/lease_store.hpp"

#include "server/db/pg_connection.hpp"

namespace huxiao::db {

namespace {
std::optional<std::string> text_or_null(const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
}
}  // namespace

std::optional<std::int64_t> acquire_lease(PgSync& db, const std::string& node,
                                          std::chrono::milliseconds ttl,
                                          const std::string& advertise_terminal,
                                          const std::string& advertise_api) {
    auto r = db.exec("SELECT epoch FROM huxiao_acquire_lease($1, $2, $3, $4)",
                     {node, std::to_string(ttl.count()), text_or_null(advertise_terminal),
                      text_or_null(advertise_api)});
    if (PQntuples(r.get()) != 1) return std::nullopt;
    return std::stoll(cell(r.get(), 0, 0));
}

bool renew_lease(PgSync& db, const std::string& node, std::int64_t epoch,
                 std::chrono::milliseconds ttl) {
    auto r = db.exec("SELECT epoch FROM huxiao_renew_lease($1, $2, $3)",
                     {node, std::to_string(epoch), std::to_string(ttl.count())});
    return PQntuples(r.get()) == 1;
}

void release_lease(PgSync& db, const std::string& node, std::int64_t epoch) {
    db.exec("SELECT huxiao_release_lease($1, $2)", {node, std::to_string(epoch)});
}

std::optional<LeaseHolder> lease_holder(PgSync& db) {
    auto r = db.exec(
        "SELECT holder, epoch, coalesce(advertise_terminal, ''), coalesce(advertise_api, ''), "
        "expires_at < clock_timestamp() FROM leader_lease WHERE id = 1");
    if (PQntuples(r.get()) != 1) return std::nullopt;
    return LeaseHolder{cell(r.get(), 0, 0), std::stoll(cell(r.get(), 0, 1)), cell(r.get(), 0, 2),
                       cell(r.get(), 0, 3), cell(r.get(), 0, 4) == "t"};
}

}  // namespace huxiao::db
