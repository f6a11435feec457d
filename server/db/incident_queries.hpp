// The API's queries about incidents (GET /api/v1/incidents and
// /api/v1/incidents/{id}, contract §5): SQL text and reading its rows; the
// handlers keep parameters, scope and JSON.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/util/time.hpp"
#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

struct IncidentFilter {
    std::optional<UnixMicros> from;  // received_at >= from
    std::optional<UnixMicros> to;    // received_at < to
    std::optional<std::string> district;
    std::optional<std::string> school;
    std::optional<std::string> kind;
    // "open", "closed", or one state (received, dispatched, ...).
    std::optional<std::string> status;
    std::optional<bool> drill;
    std::optional<std::string> visible_districts;  // JSON array of ids; nullopt: all
    // Keyset paging: only incidents before this one (newest first).
    struct After {
        std::int64_t received_us;
        std::string id;
    };
    std::optional<After> after;
    int limit = 50;
};

struct IncidentRow {
    std::string id;
    std::string school;
    std::string school_name;
    std::string district;
    std::string kind;
    bool drill = false;
    std::string state;
    std::string received_at;       // ISO-8601, ms
    std::int64_t received_us = 0;  // for the cursor
    nlohmann::json units;          // ids of the units that accepted, an array
    std::optional<double> dispatch_s;
    std::optional<double> ack_s;
    std::optional<double> arrival_s;
    std::optional<std::string> closed_at;  // ISO-8601, ms
};

struct IncidentPage {
    std::vector<IncidentRow> items;  // at most filter.limit, newest first
    bool more = false;               // there are older ones past the last item
};

struct IncidentEventRow {
    std::string at;  // ISO-8601, µs
    std::string type;
    std::string actor;
    std::optional<std::string> unit;
    nlohmann::json details;
};

struct IncidentDetail {
    IncidentRow incident;
    std::vector<IncidentEventRow> timeline;  // in order
};

boost::asio::awaitable<DbResult<IncidentPage>> list_incidents(ReadDb& db,
                                                              const IncidentFilter& filter);
// nullopt: no incident `id` (or none the caller may see).
boost::asio::awaitable<DbResult<std::optional<IncidentDetail>>> incident_detail(
    ReadDb& db, const std::string& id, const std::optional<std::string>& visible_districts);

}  // namespace huxiao::db
