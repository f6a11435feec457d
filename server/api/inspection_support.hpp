// What the inspection, hazard and school-safety endpoints (contract §10)
// share: who may see which districts, error replies that name the field, JSON
// bodies read within limits, the JSON of a hazard with its history, and the
// live facts about schools that feed the auto checklist items and the report.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/inspection/auto_items.hpp"
#include "common/inspection/checklist.hpp"
#include "server/api/api_router.hpp"
#include "server/db/inspection_queries.hpp"

namespace huxiao::api::inspection_support {

// District limits: visible_districts_json (server/api/district_scope.hpp), a
// JSON array parameter; an education token with no districts sees nothing.

ApiRouter::Response reply(const ApiRouter::Call& call, boost::beast::http::status status,
                          const nlohmann::json& body);
// 400 {"error":"bad_parameter","field":F,"message":"F: …"}
ApiRouter::Response field_error(const ApiRouter::Call& call, const inspection::FieldError& e);
ApiRouter::Response not_found(const ApiRouter::Call& call, const std::string& message);

inline constexpr std::size_t kMaxBodyBytes = 256 * 1024;
// Parses a JSON object body within kMaxBodyBytes and kMaxJsonDepth; on failure
// sets `error` to the 413/400 answer.
std::optional<nlohmann::json> read_body(const ApiRouter::Call& call,
                                        std::optional<ApiRouter::Response>& error);

// A hazard with its history as the contract shows it, overdue as of `now`.
nlohmann::json hazard_json(const db::HazardRow& hazard, UnixMicros now);

// Live facts about each selected school as of `as_of` (docs/inspections.md).
using SchoolRow = db::SchoolFactsRow;
struct SchoolSelection {
    std::optional<std::string> school, district,
        visible;  // visible: a JSON array (visible_districts_json)
};
struct SchoolRows {
    std::vector<SchoolRow> rows;  // ordered by id
    // The city's calendar (config calendar.tz) for auto_items' school terms;
    // set unless `failure`.
    std::shared_ptr<const TimeZone> calendar;
    std::optional<std::string> failure;
};
// The arguments must outlive the await (callers pass named variables).
boost::asio::awaitable<SchoolRows> load_schools(db::ReadDb& db, const Config& config,
                                                const SchoolSelection& selection, UnixMicros as_of);

}  // namespace huxiao::api::inspection_support
