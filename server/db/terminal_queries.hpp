// The API's queries about terminals (GET /api/v1/terminals, contract §5):
// SQL text and reading its rows; the handler keeps parameters, scope and JSON.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/util/time.hpp"
#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

struct TerminalFilter {
    UnixMicros from = 0;
    UnixMicros to = 0;
    std::optional<std::string> school;
    std::optional<std::string> district;
    std::optional<std::string> visible_districts;  // JSON array of ids; nullopt: all
    std::optional<bool> online;
};

struct TerminalRow {
    std::string id;
    std::string school;
    std::string school_name;
    std::string district;
    bool enabled = false;
    bool online = false;
    std::optional<std::string> last_seen;     // ISO-8601, ms
    std::optional<double> availability_pct;   // nullopt: registered after the range
    std::string registered_at;                // ISO-8601, ms
    std::optional<std::string> counted_from;  // ISO-8601, ms
};

// Terminals by id, with their availability over [from, to) (see the SQL).
boost::asio::awaitable<DbResult<std::vector<TerminalRow>>> list_terminals(
    ReadDb& db, const TerminalFilter& filter);

}  // namespace huxiao::db
