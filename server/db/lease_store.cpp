#include "server/db/lease_store.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

#include "server/db/pg_connection.hpp"

namespace huxiao::db {

namespace {
std::optional<std::string> text_or_null(const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

// For statements that do not know the TTL (release, look-up).
constexpr std::chrono::milliseconds kShortStatement{2000};

// Runs one statement and waits for its answer no longer than `limit` by our
// own clock. statement_timeout alone is not enough: a PostgreSQL that is
// stopped (SIGSTOP; a frozen machine whose kernel still acknowledges TCP)
// never sends the error, and a leadership thread waiting on it forever would
// keep a standby from ever taking over and a SIGTERM from ever finishing.
// Past the limit the connection is shut down (the caller opens a new one)
// and std::runtime_error is thrown, as for any other failure.
PgResult exec_within(PgSync& db, const std::string& sql,
                     const std::vector<std::optional<std::string>>& params,
                     std::chrono::milliseconds limit) {
    PGconn* conn = db.raw();
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) != 1) {
        throw std::runtime_error(PQerrorMessage(conn));
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    PgResult first;
    for (;;) {
        while (PQisBusy(conn)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd fd{PQsocket(conn), POLLIN, 0};
            const int ready = left.count() > 0 ? ::poll(&fd, 1, static_cast<int>(left.count())) : 0;
            if (ready == 0) {
                ::shutdown(PQsocket(conn), SHUT_RDWR);
                throw std::runtime_error("no answer from the database within " +
                                         std::to_string(limit.count()) + " ms");
            }
            if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed");
            if (PQconsumeInput(conn) != 1) throw std::runtime_error(PQerrorMessage(conn));
        }
        PGresult* r = PQgetResult(conn);
        if (!r) break;
        if (!first) {
            first.reset(r);
        } else {
            PQclear(r);
        }
    }
    const auto status = first ? PQresultStatus(first.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error(first ? PQresultErrorMessage(first.get()) : PQerrorMessage(conn));
    }
    return first;
}
}  // namespace

std::optional<std::int64_t> acquire_lease(PgSync& db, const std::string& node,
                                          std::chrono::milliseconds ttl,
                                          const std::string& advertise_terminal,
                                          const std::string& advertise_api) {
    auto r = exec_within(db, "SELECT epoch FROM huxiao_acquire_lease($1, $2, $3, $4)",
                         {node, std::to_string(ttl.count()), text_or_null(advertise_terminal),
                          text_or_null(advertise_api)},
                         ttl);  // a lease taken later than its TTL is of no use
    if (PQntuples(r.get()) != 1) return std::nullopt;
    return std::stoll(cell(r.get(), 0, 0));
}

bool renew_lease(PgSync& db, const std::string& node, std::int64_t epoch,
                 std::chrono::milliseconds ttl) {
    auto r = exec_within(db, "SELECT epoch FROM huxiao_renew_lease($1, $2, $3)",
                         {node, std::to_string(epoch), std::to_string(ttl.count())},
                         ttl);  // nor a renewal of a lease that has run out
    return PQntuples(r.get()) == 1;
}

void release_lease(PgSync& db, const std::string& node, std::int64_t epoch) {
    exec_within(db, "SELECT huxiao_release_lease($1, $2)", {node, std::to_string(epoch)},
                kShortStatement);
}

std::optional<LeaseHolder> lease_holder(PgSync& db) {
    auto r = exec_within(
        db,
        "SELECT holder, epoch, coalesce(advertise_terminal, ''), coalesce(advertise_api, ''), "
        "expires_at < clock_timestamp(), "
        "greatest(0, ceil(extract(epoch FROM expires_at - clock_timestamp()) * 1000))::bigint "
        "FROM leader_lease WHERE id = 1",
        {}, kShortStatement);
    if (PQntuples(r.get()) != 1) return std::nullopt;
    LeaseHolder holder{cell(r.get(), 0, 0), std::stoll(cell(r.get(), 0, 1)), cell(r.get(), 0, 2),
                       cell(r.get(), 0, 3), cell(r.get(), 0, 4) == "t"};
    holder.remaining = std::chrono::milliseconds(std::stoll(cell(r.get(), 0, 5)));
    return holder;
}

}  // namespace huxiao::db
