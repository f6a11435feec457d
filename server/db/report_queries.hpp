// The API's queries for the response-time reports (GET
// /api/v1/reports/response-times, docs/reports.md): the districts' SLAs and
// the report statement, built here as a UNION ALL of branches that
// PostgreSQL may run in parallel; the handler keeps parameters, scope, JSON
// and CSV.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/util/time.hpp"
#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

// A district's SLA: its override, else the configured default.
struct DistrictSla {
    std::string id;
    std::string name;
    int ack_s = 0;
    int arrival_s = 0;
};
// Every district (a few rows of the registry), by id.
boost::asio::awaitable<DbResult<std::vector<DistrictSla>>> district_slas(ReadDb& db,
                                                                         const SlaConfig& defaults);

struct ResponseTimeQuery {
    UnixMicros from = 0;
    UnixMicros to = 0;
    std::string group_by;  // district, school, unit or kind
    bool drill = false;
    std::optional<std::string> district;
    std::optional<std::string> school;
    // The districts the caller may see; null: all.
    const std::vector<std::string>* visible_districts = nullptr;
};

// The measures, in the order of ResponseTimeGroup::measures.
inline constexpr std::array<const char*, 3> kResponseMeasures = {"dispatch_s", "ack_s",
                                                                 "arrival_s"};

struct ResponseTimeGroup {
    std::optional<std::string> key;  // null: incidents no unit reached (by unit)
    std::string name;                // "" by district: the registry has it
    std::string school_district;     // by school
    std::int64_t count = 0;
    std::int64_t reached = 0;  // with an arrival
    // Per measure: p50 p90 p95 p99 max, or nothing when no incident has it.
    std::array<std::vector<double>, 3> measures;
    std::int64_t within_ack_sla = 0;
    std::int64_t within_arrival_sla = 0;
};

// The groups by key, the null key last; none when no district is visible.
// `districts`: from district_slas.
boost::asio::awaitable<DbResult<std::vector<ResponseTimeGroup>>> response_time_groups(
    ReadDb& db, const ResponseTimeQuery& query, const std::vector<DistrictSla>& districts,
    const SlaConfig& defaults);

}  // namespace huxiao::db
