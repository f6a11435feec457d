// The API's queries for guard posts (GET /api/v1/reports/guard-posts,
// docs/guard-posts.md): the posts and the positions of their units; the
// compliance itself is computed by common/supervision.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/util/time.hpp"
#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

struct GuardPostRow {
    std::string school;
    std::string school_name;
    std::string district;
    double lat = 0, lon = 0;  // the school's
    std::string unit;
    std::string days;        // as registered, e.g. "mon-fri"
    nlohmann::json windows;  // array of "HH:MM-HH:MM" texts, as registered
    std::string tz;
    UnixMicros registered = 0;  // created_at (sql/009)
};

struct GuardPostFilter {
    std::optional<std::string> school;
    std::optional<std::string> unit;
    std::optional<std::string> district;
    std::optional<std::string> visible_districts;  // JSON array of ids; nullopt: all
};
// Ordered by school, then unit.
boost::asio::awaitable<DbResult<std::vector<GuardPostRow>>> list_guard_posts(
    ReadDb& db, const GuardPostFilter& filter);

// Parallel arrays: the positions of units[i] in [from[i], to[i]). The spans
// of one unit must not overlap (else a position comes twice).
struct PositionSpans {
    std::vector<std::string> units;
    std::vector<UnixMicros> from, to;
};
struct PositionRow {
    std::string unit;
    UnixMicros at = 0;
    double lat = 0, lon = 0;
};
// By unit, then time.
boost::asio::awaitable<DbResult<std::vector<PositionRow>>> unit_positions(
    ReadDb& db, const PositionSpans& spans);

}  // namespace huxiao::db
