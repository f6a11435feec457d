#include "server/db/inspection_queries.hpp"

#include "server/db/read_db.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

// Times leave PostgreSQL as microseconds since the epoch; the history as JSON text.
constexpr const char* kHazardColumns = R"sql(
    h.id, h.inspection_id, h.school_id, s.name AS school_name, h.district_id, h.category,
    h.description, h.responsible, (extract(epoch FROM h.created_at) * 1000000)::bigint AS created_us,
    h.status, (extract(epoch FROM h.deadline) * 1000000)::bigint AS deadline_us,
    (extract(epoch FROM h.closed_at) * 1000000)::bigint AS closed_us,
    (SELECT json_agg(json_build_object(
                'at', (extract(epoch FROM e.at) * 1000000)::bigint, 'type', e.type,
                'actor', e.actor, 'role', e.actor_role, 'note', e.note,
                'deadline', (extract(epoch FROM e.deadline) * 1000000)::bigint) ORDER BY e.seq)
       FROM hazard_events e WHERE e.hazard_id = h.id)::text AS history
)sql";

// $1 id, $2 status, $3 school, $4 district, $5 visible districts, $6 limit.
std::string hazards_sql() {
    return std::string("SELECT ") + kHazardColumns + R"sql(
  FROM hazards h JOIN schools s ON s.id = h.school_id
 WHERE ($1::text IS NULL OR h.id = $1)
   AND ($2::text IS NULL OR h.status = $2)
   AND ($3::text IS NULL OR h.school_id = $3)
   AND ($4::text IS NULL OR h.district_id = $4)
   AND ($5::json IS NULL OR h.district_id IN (SELECT json_array_elements_text($5::json)))
 ORDER BY h.deadline, substr(h.id, 3)::bigint
 LIMIT $6
)sql";
}

constexpr const char* kInspectionsSql = R"sql(
SELECT i.id, i.school_id, s.name AS school_name, i.district_id,
       (extract(epoch FROM i.at) * 1000000)::bigint AS at_us,
       i.kind, array_to_json(i.inspectors)::text AS inspectors, i.recorded_by,
       (extract(epoch FROM i.recorded_at) * 1000000)::bigint AS recorded_us,
       (SELECT json_agg(json_build_object('code', it.code, 'result', it.result, 'note', it.note,
                                          'auto', it.auto_result, 'auto_reason', it.auto_reason))
          FROM inspection_items it WHERE it.inspection_id = i.id)::text AS items
  FROM inspections i JOIN schools s ON s.id = i.school_id
 WHERE ($1::text IS NULL OR i.id = $1)
   AND ($2::text IS NULL OR i.school_id = $2)
   AND ($3::text IS NULL OR i.district_id = $3)
   AND ($4::json IS NULL OR i.district_id IN (SELECT json_array_elements_text($4::json)))
   AND ($5::timestamptz IS NULL OR i.at >= $5)
   AND ($6::timestamptz IS NULL OR i.at < $6)
 ORDER BY i.at DESC, i.id DESC
 LIMIT $7
)sql";

// Per enabled terminal of the selected schools registered before as_of: online
// at as_of (its latest transition), when it was last seen (not after as_of),
// and its seconds online in the 30 days before as_of, counted from its
// registration when that is later (as /api/v1/terminals computes
// availability, docs/reports.md: the time before a terminal existed is not
// downtime).
constexpr const char* kSchoolsSql = R"sql(
WITH sel AS (
    SELECT s.id, s.name, s.district_id, s.lat, s.lon FROM schools s
     WHERE ($1::text IS NULL OR s.id = $1)
       AND ($2::text IS NULL OR s.district_id = $2)
       AND ($3::json IS NULL OR s.district_id IN (SELECT json_array_elements_text($3::json)))
),
win AS (SELECT $4::timestamptz AS as_of, $4::timestamptz - interval '30 days' AS since),
term AS (
    SELECT t.id, t.school_id,
           coalesce((SELECT e.online FROM terminal_status_events e, win
                      WHERE e.terminal_id = t.id AND e.at <= win.as_of
                      ORDER BY e.at DESC, e.seq DESC LIMIT 1), false) AS online,
           least(coalesce(t.last_seen_at,
                          (SELECT max(e.at) FROM terminal_status_events e, win
                            WHERE e.terminal_id = t.id AND e.at <= win.as_of)),
                 (SELECT as_of FROM win)) AS last_seen,
           (SELECT greatest(since, t.created_at) FROM win) AS counted_since,
           (SELECT coalesce(sum(greatest(0, extract(epoch FROM least(x.end_at, w.as_of)
                                                           - greatest(x.start_at, w.since,
                                                                      t.created_at)))), 0)
              FROM win w,
                   LATERAL (SELECT e.online, e.at AS start_at,
                                   coalesce(lead(e.at) OVER (ORDER BY e.at, e.seq), w.as_of) AS end_at
                              FROM terminal_status_events e
                             WHERE e.terminal_id = t.id AND e.at < w.as_of) x
             WHERE x.online) AS online_s
      FROM terminals t JOIN sel ON sel.id = t.school_id
     WHERE t.enabled AND t.created_at < (SELECT as_of FROM win)
)
SELECT sel.id, sel.name, sel.district_id, sel.lat, sel.lon,
       count(term.id) AS terminals, count(term.id) FILTER (WHERE term.online) AS terminals_online,
       (extract(epoch FROM max(term.last_seen) FILTER (WHERE term.online)) * 1000000)::bigint
           AS last_seen_us,
       round(avg(100 * term.online_s
                 / greatest(1, extract(epoch FROM (SELECT as_of FROM win) - term.counted_since)))
             ::numeric, 2) AS availability_pct,
       (SELECT (extract(epoch FROM max(i.received_at)) * 1000000)::bigint FROM incidents i, win
         WHERE i.school_id = sel.id AND i.received_at <= win.as_of) AS last_alarm_us,
       (extract(epoch FROM d.received_at) * 1000000)::bigint AS last_drill_us, d.arrival_s
  FROM sel
  LEFT JOIN term ON term.school_id = sel.id
  LEFT JOIN LATERAL (SELECT i.received_at, i.arrival_s FROM incidents i, win
                      WHERE i.school_id = sel.id AND i.drill AND i.received_at <= win.as_of
                      ORDER BY i.received_at DESC LIMIT 1) d ON true
 GROUP BY sel.id, sel.name, sel.district_id, sel.lat, sel.lon, d.received_at, d.arrival_s
 ORDER BY sel.id
)sql";

// The latest answer to each checklist code per school, from inspections that
// had taken place and been recorded by as_of. $1 school, $2 district,
// $3 visible districts, $4 as_of.
constexpr const char* kLatestSql = R"sql(
SELECT DISTINCT ON (i.school_id, it.code)
       i.school_id, it.code, it.result, i.id, (extract(epoch FROM i.at) * 1000000)::bigint AS at_us
  FROM inspection_items it JOIN inspections i ON i.id = it.inspection_id
 WHERE it.result IS NOT NULL
   AND i.at <= $4::timestamptz AND i.recorded_at <= $4::timestamptz
   AND ($1::text IS NULL OR i.school_id = $1)
   AND ($2::text IS NULL OR i.district_id = $2)
   AND ($3::json IS NULL OR i.district_id IN (SELECT json_array_elements_text($3::json)))
 ORDER BY i.school_id, it.code, i.at DESC, substr(i.id, 3)::bigint DESC
)sql";

constexpr const char* kLastInspectionSql = R"sql(
SELECT DISTINCT ON (i.school_id)
       i.school_id, i.id, (extract(epoch FROM i.at) * 1000000)::bigint AS at_us, i.kind
  FROM inspections i
 WHERE i.at <= $4::timestamptz AND i.recorded_at <= $4::timestamptz
   AND ($1::text IS NULL OR i.school_id = $1)
   AND ($2::text IS NULL OR i.district_id = $2)
   AND ($3::json IS NULL OR i.district_id IN (SELECT json_array_elements_text($3::json)))
 ORDER BY i.school_id, i.at DESC, substr(i.id, 3)::bigint DESC
)sql";

// Each hazard as it stood at as_of: the type of its last event then, and the
// deadline set last (by creation or a rejected verification).
constexpr const char* kHazardsAsOfSql = R"sql(
SELECT h.school_id, h.id,
       (SELECT e.type FROM hazard_events e
         WHERE e.hazard_id = h.id AND e.at <= $4::timestamptz ORDER BY e.seq DESC LIMIT 1)
           AS last_event,
       (SELECT (extract(epoch FROM e.deadline) * 1000000)::bigint FROM hazard_events e
         WHERE e.hazard_id = h.id AND e.at <= $4::timestamptz AND e.deadline IS NOT NULL
         ORDER BY e.seq DESC LIMIT 1) AS deadline_us
  FROM hazards h
 WHERE h.created_at <= $4::timestamptz
   AND ($1::text IS NULL OR h.school_id = $1)
   AND ($2::text IS NULL OR h.district_id = $2)
   AND ($3::json IS NULL OR h.district_id IN (SELECT json_array_elements_text($3::json)))
)sql";

std::optional<std::string> micros_param(const std::optional<UnixMicros>& t) {
    return t ? std::optional<std::string>(format_iso_micros(*t)) : std::nullopt;
}

std::vector<HazardRow> hazard_rows(const Rows& rows) {
    const auto id = rows.column("id"), inspection = rows.column("inspection_id"),
               school = rows.column("school_id"), school_name = rows.column("school_name"),
               district = rows.column("district_id"), category = rows.column("category"),
               description = rows.column("description"), responsible = rows.column("responsible"),
               created = rows.column("created_us"), status = rows.column("status"),
               deadline = rows.column("deadline_us"), closed = rows.column("closed_us"),
               history = rows.column("history");
    std::vector<HazardRow> out;
    for (int i = 0; i < rows.size(); ++i) {
        out.push_back({rows.text(i, id), rows.text(i, inspection), rows.text(i, school),
                       rows.text(i, school_name), rows.text(i, district), rows.text(i, category),
                       rows.text(i, description), rows.text(i, responsible),
                       rows.optional_int64(i, created), rows.text(i, status),
                       rows.int64(i, deadline), rows.optional_int64(i, closed),
                       rows.is_null(i, history) ? nlohmann::json::array() : rows.json(i, history)});
    }
    return out;
}

template <class T>
DbResult<T> failed(std::optional<PgFailure>& failure) {
    DbResult<T> out;
    out.failure = std::move(failure);
    return out;
}

}  // namespace

asio::awaitable<DbResult<std::vector<HazardRow>>> list_hazards(ReadDb& db,
                                                               const HazardFilter& filter) {
    const std::string sql = hazards_sql();
    const std::vector<std::optional<std::string>> params{filter.id,
                                                         filter.status,
                                                         filter.school,
                                                         filter.district,
                                                         filter.visible_districts,
                                                         std::to_string(filter.limit)};
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) co_return failed<std::vector<HazardRow>>(outcome.failure);
    co_return DbResult<std::vector<HazardRow>>{std::nullopt,
                                               hazard_rows(Rows(outcome.results.at(0)))};
}

asio::awaitable<std::optional<PgFailure>> add_hazard_event(ReadDb& db, const HazardEvent& e) {
    const std::string sql =
        "INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note, deadline) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)";
    const std::vector<std::optional<std::string>> params{
        e.hazard, format_iso_micros(e.at), e.type, e.actor, e.actor_role,
        e.note,   micros_param(e.deadline)};
    auto outcome = co_await db.query(sql, params);
    co_return std::move(outcome.failure);
}

asio::awaitable<DbResult<std::vector<InspectionRow>>> list_inspections(
    ReadDb& db, const InspectionFilter& filter) {
    const std::string sql = kInspectionsSql;
    const std::vector<std::optional<std::string>> params{filter.id,
                                                         filter.school,
                                                         filter.district,
                                                         filter.visible_districts,
                                                         micros_param(filter.from),
                                                         micros_param(filter.to),
                                                         std::to_string(filter.limit)};
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) co_return failed<std::vector<InspectionRow>>(outcome.failure);
    const Rows rows(outcome.results.at(0));
    const auto id = rows.column("id"), school = rows.column("school_id"),
               school_name = rows.column("school_name"), district = rows.column("district_id"),
               at = rows.column("at_us"), kind = rows.column("kind"),
               inspectors = rows.column("inspectors"), recorded_by = rows.column("recorded_by"),
               recorded = rows.column("recorded_us"), items = rows.column("items");
    DbResult<std::vector<InspectionRow>> out;
    for (int i = 0; i < rows.size(); ++i) {
        out.value.push_back({rows.text(i, id),
                             rows.text(i, school),
                             rows.text(i, school_name),
                             rows.text(i, district),
                             rows.int64(i, at),
                             rows.text(i, kind),
                             rows.json(i, inspectors),
                             rows.text(i, recorded_by),
                             rows.int64(i, recorded),
                             rows.is_null(i, items) ? nlohmann::json::array() : rows.json(i, items),
                             {}});
    }
    if (out.value.empty()) co_return out;
    std::vector<std::string> ids;
    for (const auto& r : out.value) ids.push_back(r.id);
    const std::string hazards_of = std::string("SELECT ") + kHazardColumns +
                                   " FROM hazards h JOIN schools s ON s.id = h.school_id"
                                   " WHERE h.inspection_id = ANY($1::text[])"
                                   " ORDER BY substr(h.id, 3)::bigint";
    const std::vector<std::optional<std::string>> hazard_params{text_array_param(ids)};
    auto hazards = co_await db.query(hazards_of, hazard_params);
    if (hazards.failure) co_return failed<std::vector<InspectionRow>>(hazards.failure);
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < out.value.size(); ++i) index[out.value[i].id] = i;
    for (HazardRow& h : hazard_rows(Rows(hazards.results.at(0)))) {
        out.value[index.at(h.inspection)].hazards.push_back(std::move(h));
    }
    co_return out;
}

asio::awaitable<DbResult<std::string>> record_inspection(ReadDb& db, const NewInspection& in) {
    const std::string sql =
        "SELECT huxiao_record_inspection($1::jsonb, $2, $3, $4::timestamptz) AS id";
    const std::vector<std::optional<std::string>> params{in.payload, in.actor, in.actor_role,
                                                         format_iso_micros(in.at)};
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) co_return failed<std::string>(outcome.failure);
    const Rows rows(outcome.results.at(0));
    co_return DbResult<std::string>{std::nullopt, rows.text(0, rows.column("id"))};
}

asio::awaitable<DbResult<std::vector<SchoolFactsRow>>> school_facts(ReadDb& db,
                                                                    const SchoolFactsFilter& filter,
                                                                    UnixMicros as_of) {
    const std::string sql = kSchoolsSql;
    const std::vector<std::optional<std::string>> params{
        filter.school, filter.district, filter.visible_districts, format_iso_micros(as_of)};
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) co_return failed<std::vector<SchoolFactsRow>>(outcome.failure);
    const Rows rows(outcome.results.at(0));
    const auto id = rows.column("id"), name = rows.column("name"),
               district = rows.column("district_id"), lat = rows.column("lat"),
               lon = rows.column("lon"), terminals = rows.column("terminals"),
               online = rows.column("terminals_online"), last_seen = rows.column("last_seen_us"),
               availability = rows.column("availability_pct"),
               last_alarm = rows.column("last_alarm_us"), last_drill = rows.column("last_drill_us"),
               arrival = rows.column("arrival_s");
    DbResult<std::vector<SchoolFactsRow>> out;
    for (int i = 0; i < rows.size(); ++i) {
        SchoolFactsRow s;
        s.id = rows.text(i, id);
        s.name = rows.text(i, name);
        s.district = rows.text(i, district);
        s.lat = rows.number(i, lat);
        s.lon = rows.number(i, lon);
        s.facts.terminals = static_cast<int>(rows.int64(i, terminals));
        s.facts.terminals_online = static_cast<int>(rows.int64(i, online));
        s.facts.last_seen = rows.optional_int64(i, last_seen);
        s.availability_pct = rows.optional_number(i, availability);
        s.facts.last_alarm = rows.optional_int64(i, last_alarm);
        s.facts.last_drill = rows.optional_int64(i, last_drill);
        s.last_drill_arrival_s = rows.optional_number(i, arrival);
        out.value.push_back(std::move(s));
    }
    co_return out;
}

asio::awaitable<DbResult<SchoolSafetyRecords>> school_safety_records(
    ReadDb& db, const SchoolFactsFilter& filter, UnixMicros as_of) {
    const std::vector<std::optional<std::string>> params{
        filter.school, filter.district, filter.visible_districts, format_iso_micros(as_of)};
    DbResult<SchoolSafetyRecords> out;
    const std::string latest_sql = kLatestSql;
    auto latest = co_await db.read(latest_sql, params);
    if (latest.failure) co_return failed<SchoolSafetyRecords>(latest.failure);
    const std::string last_sql = kLastInspectionSql;
    auto last = co_await db.read(last_sql, params);
    if (last.failure) co_return failed<SchoolSafetyRecords>(last.failure);
    const std::string hazards_sql = kHazardsAsOfSql;
    auto hazards = co_await db.read(hazards_sql, params);
    if (hazards.failure) co_return failed<SchoolSafetyRecords>(hazards.failure);

    const Rows a(latest.results.at(0));
    const auto a_school = a.column("school_id"), code = a.column("code"),
               result = a.column("result"), inspection = a.column("id"), a_at = a.column("at_us");
    for (int i = 0; i < a.size(); ++i) {
        out.value.latest.push_back({a.text(i, a_school), a.text(i, code), a.text(i, result),
                                    a.text(i, inspection), a.int64(i, a_at)});
    }
    const Rows l(last.results.at(0));
    const auto l_school = l.column("school_id"), id = l.column("id"), l_at = l.column("at_us"),
               kind = l.column("kind");
    for (int i = 0; i < l.size(); ++i) {
        out.value.last_inspections.push_back(
            {l.text(i, l_school), l.text(i, id), l.int64(i, l_at), l.text(i, kind)});
    }
    const Rows h(hazards.results.at(0));
    const auto h_school = h.column("school_id"), h_id = h.column("id"),
               event = h.column("last_event"), deadline = h.column("deadline_us");
    for (int i = 0; i < h.size(); ++i) {
        out.value.hazards.push_back({h.text(i, h_school), h.text(i, h_id),
                                     h.optional_text(i, event), h.optional_int64(i, deadline)});
    }
    co_return out;
}

}  // namespace huxiao::db
