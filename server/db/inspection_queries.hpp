// The API's queries for inspections, hazards and the school-safety facts
// (contract §10, docs/inspections.md): SQL text and reading its rows; the
// handlers keep parameters, scope, the lifecycle rules and JSON.
// Times leave PostgreSQL as microseconds since the epoch.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/inspection/auto_items.hpp"
#include "common/util/time.hpp"
#include "server/db/rows.hpp"

namespace huxiao::db {

class ReadDb;

struct HazardRow {
    std::string id;
    std::string inspection;
    std::string school;
    std::string school_name;
    std::string district;
    std::string category;
    std::string description;
    std::string responsible;
    std::optional<UnixMicros> created;
    std::string status;  // as stored: open, rectified, verified
    UnixMicros deadline = 0;
    std::optional<UnixMicros> closed;
    // Its events in order, a JSON array of {at, type, actor, role, note, deadline}
    // (at and deadline in µs).
    nlohmann::json history;
};

struct HazardFilter {
    std::optional<std::string> id;
    std::optional<std::string> status;
    std::optional<std::string> school;
    std::optional<std::string> district;
    std::optional<std::string> visible_districts;  // JSON array of ids; nullopt: all
    int limit = 1000;
};
// By deadline, then by number.
boost::asio::awaitable<DbResult<std::vector<HazardRow>>> list_hazards(ReadDb& db,
                                                                      const HazardFilter& filter);

struct HazardEvent {
    std::string hazard;
    UnixMicros at = 0;
    std::string type;
    std::string actor;
    std::string actor_role;
    std::optional<std::string> note;
    std::optional<UnixMicros> deadline;
};
// A constraint of sql/ refuses an event its hazard's status does not allow
// (SQLSTATE 23514: another request changed the hazard meanwhile).
boost::asio::awaitable<std::optional<PgFailure>> add_hazard_event(ReadDb& db,
                                                                  const HazardEvent& event);

struct InspectionRow {
    std::string id;
    std::string school;
    std::string school_name;
    std::string district;
    UnixMicros at = 0;
    std::string kind;
    nlohmann::json inspectors;  // array of names
    std::string recorded_by;
    UnixMicros recorded_at = 0;
    // Array of {code, result, note, auto, auto_reason}, in no order.
    nlohmann::json items;
    std::vector<HazardRow> hazards;  // found during it, by number
};

struct InspectionFilter {
    std::optional<std::string> id;
    std::optional<std::string> school;
    std::optional<std::string> district;
    std::optional<std::string> visible_districts;  // JSON array of ids; nullopt: all
    std::optional<UnixMicros> from;                // at >= from
    std::optional<UnixMicros> to;                  // at < to
    int limit = 200;
};
// Newest first, each with its hazards.
boost::asio::awaitable<DbResult<std::vector<InspectionRow>>> list_inspections(
    ReadDb& db, const InspectionFilter& filter);

struct NewInspection {
    std::string payload;  // the JSON that huxiao_record_inspection (sql/) takes
    std::string actor;
    std::string actor_role;
    UnixMicros at = 0;  // recorded at
};
// The new inspection's id. SQLSTATE 23503: no such school.
boost::asio::awaitable<DbResult<std::string>> record_inspection(ReadDb& db,
                                                                const NewInspection& inspection);

// Live facts about each selected school as of a time (docs/inspections.md);
// the guard-post minutes are left for the caller to fill.
struct SchoolFactsRow {
    std::string id, name, district;
    double lat = 0, lon = 0;
    inspection::SchoolFacts facts;
    std::optional<double> availability_pct;  // 30 days, mean of its enabled terminals
    std::optional<double> last_drill_arrival_s;
};
struct SchoolFactsFilter {
    std::optional<std::string> school;
    std::optional<std::string> district;
    std::optional<std::string> visible_districts;  // JSON array of ids; nullopt: all
};
// Ordered by id.
boost::asio::awaitable<DbResult<std::vector<SchoolFactsRow>>> school_facts(
    ReadDb& db, const SchoolFactsFilter& filter, UnixMicros as_of);

// What GET /api/v1/reports/school-safety reads besides the school facts, as
// it stood at as_of (inspections and events that had taken place and been
// recorded by then).
struct LatestAnswer {  // the latest answer to a checklist code at a school
    std::string school, code, result, inspection;
    UnixMicros at = 0;
};
struct LastInspection {
    std::string school, id;
    UnixMicros at = 0;
    std::string kind;
};
struct HazardAsOf {
    std::string school, id;
    std::optional<std::string> last_event;  // the type of its last event then
    std::optional<UnixMicros> deadline;     // the deadline set last
};
struct SchoolSafetyRecords {
    std::vector<LatestAnswer> latest;
    std::vector<LastInspection> last_inspections;
    std::vector<HazardAsOf> hazards;
};
boost::asio::awaitable<DbResult<SchoolSafetyRecords>> school_safety_records(
    ReadDb& db, const SchoolFactsFilter& filter, UnixMicros as_of);

}  // namespace huxiao::db
