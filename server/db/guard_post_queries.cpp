#include "server/db/guard_post_queries.hpp"

#include "server/db/read_db.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

constexpr const char* kPostsSql = R"sql(
SELECT g.school_id, s.name AS school_name, s.district_id, s.lat, s.lon, g.unit_id, g.days,
       array_to_json(g.windows)::text AS windows, g.tz,
       floor(extract(epoch FROM g.created_at) * 1000000)::bigint AS registered_us
  FROM guard_posts g JOIN schools s ON s.id = g.school_id
 WHERE ($1::text IS NULL OR g.school_id = $1)
   AND ($2::text IS NULL OR g.unit_id = $2)
   AND ($3::text IS NULL OR s.district_id = $3)
   AND ($4::json IS NULL OR s.district_id IN (SELECT json_array_elements_text($4::json)))
 ORDER BY g.school_id, g.unit_id
)sql";

// Positions of several units, each within its spans ($1 unit, $2 from, $3 to,
// parallel arrays; the spans of one unit do not overlap, so no row twice).
constexpr const char* kPositionsSql = R"sql(
SELECT p.unit_id, floor(extract(epoch FROM p.at) * 1000000)::bigint AS at_us, p.lat, p.lon
  FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS w(unit_id, f, t)
  JOIN unit_positions p ON p.unit_id = w.unit_id AND p.at >= w.f AND p.at < w.t
 ORDER BY p.unit_id, p.at
)sql";

std::string times_param(const std::vector<UnixMicros>& times) {
    std::vector<std::string> texts;
    texts.reserve(times.size());
    for (const UnixMicros t : times) texts.push_back(format_iso_micros(t));
    return text_array_param(texts);
}

}  // namespace

asio::awaitable<DbResult<std::vector<GuardPostRow>>> list_guard_posts(
    ReadDb& db, const GuardPostFilter& filter) {
    const std::string sql = kPostsSql;
    const std::vector<std::optional<std::string>> params{filter.school, filter.unit,
                                                         filter.district, filter.visible_districts};
    auto outcome = co_await db.read(sql, params);
    DbResult<std::vector<GuardPostRow>> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    const auto school = rows.column("school_id"), school_name = rows.column("school_name"),
               district = rows.column("district_id"), lat = rows.column("lat"),
               lon = rows.column("lon"), unit = rows.column("unit_id"), days = rows.column("days"),
               windows = rows.column("windows"), tz = rows.column("tz"),
               registered = rows.column("registered_us");
    for (int i = 0; i < rows.size(); ++i) {
        out.value.push_back({rows.text(i, school), rows.text(i, school_name),
                             rows.text(i, district), rows.number(i, lat), rows.number(i, lon),
                             rows.text(i, unit), rows.text(i, days), rows.json(i, windows),
                             rows.text(i, tz), rows.int64(i, registered)});
    }
    co_return out;
}

asio::awaitable<DbResult<std::vector<PositionRow>>> unit_positions(ReadDb& db,
                                                                   const PositionSpans& spans) {
    const std::string sql = kPositionsSql;
    const std::vector<std::optional<std::string>> params{
        text_array_param(spans.units), times_param(spans.from), times_param(spans.to)};
    auto outcome = co_await db.read(sql, params);
    DbResult<std::vector<PositionRow>> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    const auto unit = rows.column("unit_id"), at = rows.column("at_us"), lat = rows.column("lat"),
               lon = rows.column("lon");
    for (int i = 0; i < rows.size(); ++i) {
        out.value.push_back(
            {rows.text(i, unit), rows.int64(i, at), rows.number(i, lat), rows.number(i, lon)});
    }
    co_return out;
}

}  // namespace huxiao::db
