#include "server/api/terminals_api.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/api/district_scope.hpp"
#include "server/api/params.hpp"
#include "server/base/clock.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// Availability is the share of [from, to) between an `online` transition and
// the next `offline` one (or the end of the range), counted from the
// terminal's registration (`created_at`, sql/009) when that is later than
// `from`: the time before a terminal existed is not downtime. A terminal
// registered after the range has no availability (null). The future part of
// a range (to > now) is not counted either. Terminals never
// seen online in the counted span are 0 % available.
constexpr const char* kTerminalsSql = R"sql(
WITH range AS (SELECT $1::timestamptz AS f, least($2::timestamptz, now()) AS t),
intervals AS (
    SELECT e.terminal_id, e.online, e.at AS start_at,
           coalesce(lead(e.at) OVER (PARTITION BY e.terminal_id ORDER BY e.at, e.seq),
                    (SELECT t FROM range)) AS end_at
      FROM terminal_status_events e
     WHERE e.at < (SELECT t FROM range)
),
counted AS (
    SELECT id AS terminal_id, greatest(created_at, (SELECT f FROM range)) AS since
      FROM terminals
),
up AS (
    SELECT i.terminal_id,
           sum(greatest(0, extract(epoch FROM least(i.end_at, (SELECT t FROM range))
                                            - greatest(i.start_at, c.since)))) AS online_s
      FROM intervals i JOIN counted c ON c.terminal_id = i.terminal_id
     WHERE i.online GROUP BY i.terminal_id
),
latest AS (
    SELECT DISTINCT ON (terminal_id) terminal_id, online
      FROM terminal_status_events ORDER BY terminal_id, seq DESC
)
SELECT t.id, t.school_id, s.name, s.district_id, t.enabled, coalesce(l.online, false),
       to_char(t.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       CASE WHEN c.since < (SELECT t FROM range) THEN
       round((100 * coalesce(u.online_s, 0)
              / greatest(1, extract(epoch FROM (SELECT t FROM range) - c.since)))::numeric, 2)
       END,
       to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       CASE WHEN c.since < (SELECT t FROM range) THEN
       to_char(c.since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       END
  FROM terminals t
  JOIN schools s ON s.id = t.school_id
  JOIN counted c ON c.terminal_id = t.id
  LEFT JOIN latest l ON l.terminal_id = t.id
  LEFT JOIN up u ON u.terminal_id = t.id
 WHERE ($3::text IS NULL OR t.school_id = $3)
   AND ($4::text IS NULL OR s.district_id = $4)
   AND ($5::json IS NULL OR s.district_id IN (SELECT json_array_elements_text($5::json)))
   AND ($6::boolean IS NULL OR coalesce(l.online, false) = $6)
 ORDER BY t.id
)sql";

asio::awaitable<ApiRouter::Response> list(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto& q = call.query;
    only(q, {"status", "from", "to", "school", "district"});
    const auto status = one_of(q, "status", {"online", "offline"});
    const UnixMicros now = system_now();
    const UnixMicros to = time(q, "to").value_or(now);
    const UnixMicros from = time(q, "from").value_or(to - 30LL * 86400 * kMicrosPerSecond);
    if (from >= to) throw BadParameter{"to", "must be after from"};
    const std::optional<std::string> limit_to = visible_districts_json(call.who);
    const std::string sql = kTerminalsSql;
    const std::vector<std::optional<std::string>> params{
        format_iso_micros(from),
        format_iso_micros(to),
        text(q, "school"),
        text(q, "district"),
        limit_to,
        status ? std::optional<std::string>(*status == "online" ? "true" : "false") : std::nullopt};
    auto outcome = co_await db.read(sql, params);
    if (outcome.failure) co_return ApiRouter::database_error(call, *outcome.failure);
    const PGresult* r = outcome.results.at(0).get();
    json items = json::array();
    for (int i = 0; i < PQntuples(r); ++i) {
        items.push_back(
            {{"id", db::cell(r, i, 0)},
             {"school", db::cell(r, i, 1)},
             {"school_name", db::cell(r, i, 2)},
             {"district", db::cell(r, i, 3)},
             {"enabled", db::cell(r, i, 4) == "t"},
             {"online", db::cell(r, i, 5) == "t"},
             {"last_seen", PQgetisnull(r, i, 6) ? json(nullptr) : json(db::cell(r, i, 6))},
             {"availability_pct",
              PQgetisnull(r, i, 7) ? json(nullptr) : json(std::stod(db::cell(r, i, 7)))},
             {"registered_at", db::cell(r, i, 8)},
             {"counted_from", PQgetisnull(r, i, 9) ? json(nullptr) : json(db::cell(r, i, 9))}});
    }
    co_return ApiRouter::json(
        http::status::ok,
        {{"from", format_iso_millis(from)}, {"to", format_iso_millis(to)}, {"items", items}},
        call.req.version(), call.req.keep_alive());
}

}  // namespace

void add_terminal_routes(ApiRouter& router, db::ReadDb& db) {
    router.add("GET", "/api/v1/terminals",
               {"dispatcher", "auditor", "education", "admin", "inspector"},
               [&db](const ApiRouter::Call& call) { return list(db, call); });
}

}  // namespace huxiao::api
