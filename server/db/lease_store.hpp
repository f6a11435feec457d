// The leader lease row (sql/012_leader_lease.sql) through a blocking
// connection: only the leadership thread (server/app/leadership) uses it.
// Every call throws std::runtime_error when the database cannot be reached
// or refuses; the caller treats that as "not confirmed".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace huxiao::db {

class PgSync;

struct LeaseHolder {
    std::string node;
    std::int64_t epoch = 0;
    std::string advertise_terminal;
    std::string advertise_api;
    bool expired = false;
    // How long the lease has left by the database's clock (0 once expired).
    std::chrono::milliseconds remaining{0};
};

// The new epoch when this node took the lease (nobody held it, or it had expired).
std::optional<std::int64_t> acquire_lease(PgSync& db, const std::string& node,
                                          std::chrono::milliseconds ttl,
                                          const std::string& advertise_terminal,
                                          const std::string& advertise_api);
// False when the lease is no longer this node's with this epoch, or has expired.
bool renew_lease(PgSync& db, const std::string& node, std::int64_t epoch,
                 std::chrono::milliseconds ttl);
// Ends the lease at once (a leader that stops after draining).
void release_lease(PgSync& db, const std::string& node, std::int64_t epoch);
// Who holds (or last held) the lease; nothing before anyone took it.
std::optional<LeaseHolder> lease_holder(PgSync& db);

}  // namespace huxiao::db
