// GET /api/v1/reports/guard-posts and .csv (issue 5 item 3, contract §5 and
// §7 guard_posts): guard-post (护学岗) compliance per post and local day —
// scheduled minutes, minutes the unit was within `radius_m` of the school,
// their share, and the windows missed. Posts and the unit positions recorded
// in `unit_positions` are loaded with SQL; the figures come from the pure
// supervision::guard_post_compliance (rule in docs/guard-posts.md).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>

#include "common/util/time.hpp"

namespace huxiao {
class ApiRouter;
struct Config;
namespace db {
class ReadDb;
}
namespace api {
void add_guard_post_routes(ApiRouter& router, db::ReadDb& db, const Config& config);

// Guard-post minutes per school over [from, to) (clipped to the last whole
// minute), by the report's default rules: for the school-safety report.
// `districts` is a JSON array of district ids limiting the schools
// (visible_districts_json; nothing: all).
// The arguments must outlive the await (callers pass named variables).
struct GuardPostMinutes {
    long long scheduled_min = 0;
    long long present_min = 0;
};
struct GuardPostMinutesBySchool {
    std::map<std::string, GuardPostMinutes> schools;
    std::optional<std::string> failure;  // the database's message
};
boost::asio::awaitable<GuardPostMinutesBySchool> guard_post_minutes(
    db::ReadDb& db, const Config& config, const std::optional<std::string>& school,
    const std::optional<std::string>& district, const std::optional<std::string>& districts,
    UnixMicros from, UnixMicros to);
}  // namespace api
}  // namespace huxiao
