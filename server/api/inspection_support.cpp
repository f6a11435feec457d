#include "server/api/inspection_support.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/inspection/hazard_lifecycle.hpp"
#include "common/protocol/bounded_json.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/guard_posts_api.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api::inspection_support {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

std::string pg_text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const std::string& s : items) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (const char c : s) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

ApiRouter::Response reply(const ApiRouter::Call& call, http::status status, const json& body) {
    return ApiRouter::json(status, body, call.req.version(), call.req.keep_alive());
}

ApiRouter::Response field_error(const ApiRouter::Call& call, const inspection::FieldError& e) {
    return reply(
        call, http::status::bad_request,
        {{"error", "bad_parameter"}, {"field", e.field}, {"message", e.field + ": " + e.message}});
}

ApiRouter::Response not_found(const ApiRouter::Call& call, const std::string& message) {
    return ApiRouter::error(http::status::not_found, "not_found", message, call.req.version(),
                            call.req.keep_alive());
}

std::optional<json> read_body(const ApiRouter::Call& call,
                              std::optional<ApiRouter::Response>& error) {
    const std::string& body = call.req.body();
    if (body.size() > kMaxBodyBytes) {
        error = ApiRouter::error(http::status::payload_too_large, "too_large",
                                 "the body exceeds " + std::to_string(kMaxBodyBytes) + " bytes",
                                 call.req.version(), call.req.keep_alive());
        return std::nullopt;
    }
    BoundedJson parsed = parse_bounded_json(body);
    if (const auto* e = std::get_if<JsonError>(&parsed)) {
        error = field_error(call, {"body", e->message});
        return std::nullopt;
    }
    json& value = std::get<json>(parsed);
    if (!value.is_object()) {
        error = field_error(call, {"body", "must be a JSON object"});
        return std::nullopt;
    }
    return std::move(value);
}

// Times leave PostgreSQL as microseconds since the epoch; the history as JSON text.
const char* const kHazardColumns = R"sql(
    h.id, h.inspection_id, h.school_id, s.name, h.district_id, h.category, h.description,
    h.responsible, (extract(epoch FROM h.created_at) * 1000000)::bigint, h.status,
    (extract(epoch FROM h.deadline) * 1000000)::bigint,
    (extract(epoch FROM h.closed_at) * 1000000)::bigint,
    (SELECT json_agg(json_build_object(
                'at', (extract(epoch FROM e.at) * 1000000)::bigint, 'type', e.type,
                'actor', e.actor, 'role', e.actor_role, 'note', e.note,
                'deadline', (extract(epoch FROM e.deadline) * 1000000)::bigint) ORDER BY e.seq)
       FROM hazard_events e WHERE e.hazard_id = h.id)::text
)sql";

namespace {
json time_or_null(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return nullptr;
    return format_iso_millis(std::stoll(db::cell(r, row, col)));
}
}  // namespace

json hazard_json(const void* pg_result, int row, UnixMicros now) {
    const auto* r = static_cast<const PGresult*>(pg_result);
    const auto status =
        inspection::hazard_status(db::cell(r, row, 9)).value_or(inspection::HazardStatus::open);
    const UnixMicros deadline = std::stoll(db::cell(r, row, 10));
    json history = json::array();
    const json events =
        PQgetisnull(r, row, 12) ? json::array() : json::parse(db::cell(r, row, 12), nullptr, false);
    for (const auto& e : events.is_array() ? events : json::array()) {
        history.push_back(
            {{"at", format_iso_millis(e["at"].get<UnixMicros>())},
             {"type", e["type"]},
             {"actor", e["actor"]},
             {"role", e["role"]},
             {"note", e["note"]},
             {"deadline", e["deadline"].is_null()
                              ? json(nullptr)
                              : json(format_iso_millis(e["deadline"].get<UnixMicros>()))}});
    }
    return {{"id", db::cell(r, row, 0)},
            {"inspection", db::cell(r, row, 1)},
            {"school", db::cell(r, row, 2)},
            {"school_name", db::cell(r, row, 3)},
            {"district", db::cell(r, row, 4)},
            {"category", db::cell(r, row, 5)},
            {"description", db::cell(r, row, 6)},
            {"responsible", db::cell(r, row, 7)},
            {"created_at", time_or_null(r, row, 8)},
            {"status", std::string(inspection::to_string(status))},
            {"deadline", format_iso_millis(deadline)},
            {"overdue", inspection::is_overdue(status, deadline, now)},
            {"closed_at", time_or_null(r, row, 11)},
            {"history", std::move(history)}};
}

namespace {

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
       count(term.id), count(term.id) FILTER (WHERE term.online),
       (extract(epoch FROM max(term.last_seen) FILTER (WHERE term.online)) * 1000000)::bigint,
       round(avg(100 * term.online_s
                 / greatest(1, extract(epoch FROM (SELECT as_of FROM win) - term.counted_since)))
             ::numeric, 2),
       (SELECT (extract(epoch FROM max(i.received_at)) * 1000000)::bigint FROM incidents i, win
         WHERE i.school_id = sel.id AND i.received_at <= win.as_of),
       (extract(epoch FROM d.received_at) * 1000000)::bigint, d.arrival_s
  FROM sel
  LEFT JOIN term ON term.school_id = sel.id
  LEFT JOIN LATERAL (SELECT i.received_at, i.arrival_s FROM incidents i, win
                      WHERE i.school_id = sel.id AND i.drill AND i.received_at <= win.as_of
                      ORDER BY i.received_at DESC LIMIT 1) d ON true
 GROUP BY sel.id, sel.name, sel.district_id, sel.lat, sel.lon, d.received_at, d.arrival_s
 ORDER BY sel.id
)sql";

std::optional<long long> micros_or_none(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return std::nullopt;
    return std::stoll(db::cell(r, row, col));
}

}  // namespace

asio::awaitable<SchoolRows> load_schools(db::ReadDb& db, const Config& config,
                                         const SchoolSelection& selection, UnixMicros as_of) {
    SchoolRows out;
    out.calendar = TimeZone::locate(config.calendar.tz);
    if (!out.calendar) {  // parse_config refuses such a zone; this is for a Config made otherwise
        out.failure = "calendar.tz \"" + config.calendar.tz + "\" is not in the tz database";
        co_return out;
    }
    const std::string sql = kSchoolsSql;
    const std::vector<std::optional<std::string>> params{
        selection.school, selection.district, selection.visible, format_iso_micros(as_of)};
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) {
        out.failure = outcome.failure->message;
        co_return out;
    }
    const PGresult* r = outcome.results.at(0).get();
    for (int row = 0; row < PQntuples(r); ++row) {
        SchoolRow s;
        s.id = db::cell(r, row, 0);
        s.name = db::cell(r, row, 1);
        s.district = db::cell(r, row, 2);
        s.lat = std::stod(db::cell(r, row, 3));
        s.lon = std::stod(db::cell(r, row, 4));
        s.facts.terminals = std::stoi(db::cell(r, row, 5));
        s.facts.terminals_online = std::stoi(db::cell(r, row, 6));
        s.facts.last_seen = micros_or_none(r, row, 7);
        if (!PQgetisnull(r, row, 8)) s.availability_pct = std::stod(db::cell(r, row, 8));
        s.facts.last_alarm = micros_or_none(r, row, 9);
        s.facts.last_drill = micros_or_none(r, row, 10);
        if (!PQgetisnull(r, row, 11)) s.last_drill_arrival_s = std::stod(db::cell(r, row, 11));
        out.rows.push_back(std::move(s));
    }
    const UnixMicros since = as_of - inspection::kGuardPostWindow;
    const auto minutes = co_await guard_post_minutes(
        db, config, selection.school, selection.district, selection.visible, since, as_of);
    if (minutes.failure) {
        out.failure = minutes.failure;
        co_return out;
    }
    for (auto& s : out.rows) {
        if (auto it = minutes.schools.find(s.id); it != minutes.schools.end()) {
            s.facts.guard_scheduled_min = it->second.scheduled_min;
            s.facts.guard_present_min = it->second.present_min;
        }
    }
    co_return out;
}

}  // namespace huxiao::api::inspection_support
