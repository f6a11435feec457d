#include "server/api/inspections_api.hpp"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/inspection/auto_items.hpp"
#include "common/inspection/checklist.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/inspection_support.hpp"
#include "server/api/params.hpp"
#include "server/base/clock.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using namespace inspection_support;
using Response = ApiRouter::Response;

namespace {

constexpr const char* kInspectionsSql = R"sql(
SELECT i.id, i.school_id, s.name, i.district_id, (extract(epoch FROM i.at) * 1000000)::bigint,
       i.kind, array_to_json(i.inspectors)::text, i.recorded_by,
       (extract(epoch FROM i.recorded_at) * 1000000)::bigint,
       (SELECT json_agg(json_build_object('code', it.code, 'result', it.result, 'note', it.note,
                                          'auto', it.auto_result, 'auto_reason', it.auto_reason))
          FROM inspection_items it WHERE it.inspection_id = i.id)::text
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

std::size_t code_order(const std::string& code) {
    const auto codes = inspection::checklist_codes();
    return static_cast<std::size_t>(std::find(codes.begin(), codes.end(), code) - codes.begin());
}

json inspection_json(const PGresult* r, int row) {
    json items = json::array();
    if (!PQgetisnull(r, row, 9)) items = json::parse(db::cell(r, row, 9));
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
        return code_order(a["code"].get<std::string>()) < code_order(b["code"].get<std::string>());
    });
    for (auto& item : items) {
        if (item["auto"].is_null()) {  // manual codes carry no auto value
            item.erase("auto");
            item.erase("auto_reason");
        }
    }
    return {{"id", db::cell(r, row, 0)},
            {"school", db::cell(r, row, 1)},
            {"school_name", db::cell(r, row, 2)},
            {"district", db::cell(r, row, 3)},
            {"at", format_iso_millis(std::stoll(db::cell(r, row, 4)))},
            {"kind", db::cell(r, row, 5)},
            {"inspectors", json::parse(db::cell(r, row, 6))},
            {"recorded_by", db::cell(r, row, 7)},
            {"recorded_at", format_iso_millis(std::stoll(db::cell(r, row, 8)))},
            {"items", std::move(items)},
            {"hazards", json::array()}};
}

struct Loaded {
    json items = json::array();
    std::optional<db::PgFailure> failure;
};

// The arguments must outlive the await (callers pass named variables).
asio::awaitable<Loaded> load_inspections(db::ReadDb& db,
                                         const std::vector<std::optional<std::string>>& params) {
    Loaded out;
    const std::string sql = kInspectionsSql;
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) {
        out.failure = outcome.failure;
        co_return out;
    }
    const PGresult* r = outcome.results.at(0).get();
    std::vector<std::string> ids;
    for (int row = 0; row < PQntuples(r); ++row) {
        out.items.push_back(inspection_json(r, row));
        ids.push_back(db::cell(r, row, 0));
    }
    if (ids.empty()) co_return out;
    const std::string hazards_sql = std::string("SELECT ") + kHazardColumns +
                                    " FROM hazards h JOIN schools s ON s.id = h.school_id"
                                    " WHERE h.inspection_id = ANY($1::text[])"
                                    " ORDER BY substr(h.id, 3)::bigint";
    const std::vector<std::optional<std::string>> hazard_params{pg_text_array(ids)};
    auto hazards = co_await db.query(hazards_sql, hazard_params);
    if (hazards.failure) {
        out.failure = hazards.failure;
        co_return out;
    }
    const PGresult* h = hazards.results.at(0).get();
    const UnixMicros now = system_now();
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < out.items.size(); ++i) index[out.items[i]["id"]] = i;
    for (int row = 0; row < PQntuples(h); ++row) {
        json hazard = hazard_json(h, row, now);
        out.items[index.at(hazard["inspection"].get<std::string>())]["hazards"].push_back(
            std::move(hazard));
    }
    co_return out;
}

asio::awaitable<Response> list(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto& q = call.query;
    only(q, {"school", "district", "from", "to", "limit"});
    const auto from = time(q, "from");
    const auto to = time(q, "to");
    if (from && to && *to <= *from) throw BadParameter{"to", "must be after from"};
    const int limit = integer(q, "limit", 200, 1, 1000);
    const std::vector<std::optional<std::string>> params{
        std::nullopt,
        text(q, "school"),
        text(q, "district"),
        visible_districts_json(call.who),
        from ? std::optional<std::string>(format_iso_micros(*from)) : std::nullopt,
        to ? std::optional<std::string>(format_iso_micros(*to)) : std::nullopt,
        std::to_string(limit)};
    Loaded loaded = co_await load_inspections(db, params);
    if (loaded.failure) co_return ApiRouter::database_error(call, *loaded.failure);
    co_return reply(call, http::status::ok, {{"items", std::move(loaded.items)}});
}

asio::awaitable<Response> one(db::ReadDb& db, const ApiRouter::Call& call) {
    only(call.query, {});
    const std::string id = call.path.substr(std::string("/api/v1/inspections/").size());
    const std::vector<std::optional<std::string>> params{
        id,           std::nullopt, std::nullopt, visible_districts_json(call.who),
        std::nullopt, std::nullopt, "1"};
    Loaded loaded = co_await load_inspections(db, params);
    if (loaded.failure) co_return ApiRouter::database_error(call, *loaded.failure);
    // Another district's inspection is as unknown to an education token as a missing one.
    if (loaded.items.empty()) co_return not_found(call, "no inspection " + id);
    co_return reply(call, http::status::ok, loaded.items[0]);
}

asio::awaitable<Response> record(db::ReadDb& db, const Config& config,
                                 const ApiRouter::Call& call) {
    only(call.query, {});
    std::optional<Response> error;
    const auto body = read_body(call, error);
    if (!body) co_return std::move(*error);
    const UnixMicros now = system_now();
    const auto parsed = inspection::parse_inspection(*body, now);
    if (const auto* e = std::get_if<inspection::FieldError>(&parsed))
        co_return field_error(call, *e);
    const auto& in = std::get<inspection::InspectionInput>(parsed);

    // The auto items, from the facts as they are now (docs/inspections.md).
    SchoolSelection selection;
    selection.school = in.school;
    SchoolRows schools = co_await load_schools(db, config, selection, now);
    if (schools.failure) {
        co_return ApiRouter::database_error(call, db::PgFailure{{}, "", *schools.failure});
    }
    if (schools.rows.empty()) {
        co_return field_error(call, {"school", "unknown school \"" + in.school + "\""});
    }
    const auto autos = inspection::auto_items(schools.rows[0].facts, now, *schools.calendar);

    json items = json::array();
    for (const auto code : inspection::checklist_codes()) {
        json item = {{"code", std::string(code)}};
        for (const auto& given : in.items) {
            if (given.code != code) continue;
            item["result"] = given.result;
            if (given.note) item["note"] = *given.note;
        }
        for (const auto& a : autos) {
            if (a.code != code) continue;
            item["auto_result"] = a.result;
            item["auto_reason"] = a.reason;
        }
        if (item.size() > 1) items.push_back(std::move(item));
    }
    json hazards = json::array();
    for (const auto& h : in.hazards) {
        hazards.push_back({{"category", h.category},
                           {"description", h.description},
                           {"deadline", format_iso_micros(h.deadline)},
                           {"responsible", h.responsible}});
    }
    const json payload = {{"school", in.school},       {"at", format_iso_micros(in.at)},
                          {"kind", in.kind},           {"inspectors", in.inspectors},
                          {"items", std::move(items)}, {"hazards", std::move(hazards)}};
    const std::string sql = "SELECT huxiao_record_inspection($1::jsonb, $2, $3, $4::timestamptz)";
    const std::vector<std::optional<std::string>> params{payload.dump(), call.who.name,
                                                         call.who.role, format_iso_micros(now)};
    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) {
        if (outcome.failure->sqlstate == "23503") {
            co_return field_error(call, {"school", "unknown school \"" + in.school + "\""});
        }
        co_return ApiRouter::database_error(call, *outcome.failure);
    }
    const std::string id = db::cell(outcome.results.at(0).get(), 0, 0);
    const std::vector<std::optional<std::string>> load_params{
        id, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, "1"};
    Loaded loaded = co_await load_inspections(db, load_params);
    if (loaded.failure || loaded.items.empty()) {
        // Recorded; only the read-back failed. Say so rather than hide the id.
        co_return reply(call, http::status::created, {{"id", id}});
    }
    co_return reply(call, http::status::created, loaded.items[0]);
}

}  // namespace

void add_inspection_routes(ApiRouter& router, db::ReadDb& db, const Config& config) {
    router.add("POST", "/api/v1/inspections", {"inspector"},
               [&db, &config](const ApiRouter::Call& call) { return record(db, config, call); });
    router.add("GET", "/api/v1/inspections", {"inspector", "auditor", "education", "dispatcher"},
               [&db](const ApiRouter::Call& call) { return list(db, call); });
    router.add("GET", "/api/v1/inspections/", {"inspector", "auditor", "education", "dispatcher"},
               [&db](const ApiRouter::Call& call) { return one(db, call); });
}

}  // namespace huxiao::api
