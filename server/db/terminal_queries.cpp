#include "server/db/terminal_queries.hpp"

#include "server/db/read_db.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

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
SELECT t.id, t.school_id, s.name AS school_name, s.district_id, t.enabled,
       coalesce(l.online, false) AS online,
       to_char(t.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_seen,
       CASE WHEN c.since < (SELECT t FROM range) THEN
       round((100 * coalesce(u.online_s, 0)
              / greatest(1, extract(epoch FROM (SELECT t FROM range) - c.since)))::numeric, 2)
       END AS availability_pct,
       to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS registered_at,
       CASE WHEN c.since < (SELECT t FROM range) THEN
       to_char(c.since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       END AS counted_from
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

}  // namespace

asio::awaitable<DbResult<std::vector<TerminalRow>>> list_terminals(ReadDb& db,
                                                                   const TerminalFilter& filter) {
    DbResult<std::vector<TerminalRow>> out;
    const std::vector<std::optional<std::string>> params{
        format_iso_micros(filter.from),
        format_iso_micros(filter.to),
        filter.school,
        filter.district,
        filter.visible_districts,
        filter.online ? std::optional<std::string>(*filter.online ? "true" : "false")
                      : std::nullopt};
    auto outcome = co_await db.read(kTerminalsSql, params);
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    const auto id = rows.column("id"), school = rows.column("school_id"),
               school_name = rows.column("school_name"), district = rows.column("district_id"),
               enabled = rows.column("enabled"), online = rows.column("online"),
               last_seen = rows.column("last_seen"), availability = rows.column("availability_pct"),
               registered_at = rows.column("registered_at"),
               counted_from = rows.column("counted_from");
    for (int i = 0; i < rows.size(); ++i) {
        out.value.push_back({rows.text(i, id), rows.text(i, school), rows.text(i, school_name),
                             rows.text(i, district), rows.boolean(i, enabled),
                             rows.boolean(i, online), rows.optional_text(i, last_seen),
                             rows.optional_number(i, availability), rows.text(i, registered_at),
                             rows.optional_text(i, counted_from)});
    }
    co_return out;
}

}  // namespace huxiao::db
