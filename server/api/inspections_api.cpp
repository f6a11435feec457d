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
#include "server/db/inspection_queries.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using namespace inspection_support;
using Response = ApiRouter::Response;

namespace {

std::size_t code_order(const std::string& code) {
    const auto codes = inspection::checklist_codes();
    return static_cast<std::size_t>(std::find(codes.begin(), codes.end(), code) - codes.begin());
}

json inspection_json(const db::InspectionRow& r, UnixMicros now) {
    json items = r.items;
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
        return code_order(a["code"].get<std::string>()) < code_order(b["code"].get<std::string>());
    });
    for (auto& item : items) {
        if (item["auto"].is_null()) {  // manual codes carry no auto value
            item.erase("auto");
            item.erase("auto_reason");
        }
    }
    json hazards = json::array();
    for (const db::HazardRow& h : r.hazards) hazards.push_back(hazard_json(h, now));
    return {{"id", r.id},
            {"school", r.school},
            {"school_name", r.school_name},
            {"district", r.district},
            {"at", format_iso_millis(r.at)},
            {"kind", r.kind},
            {"inspectors", r.inspectors},
            {"recorded_by", r.recorded_by},
            {"recorded_at", format_iso_millis(r.recorded_at)},
            {"items", std::move(items)},
            {"hazards", std::move(hazards)}};
}

struct Loaded {
    json items = json::array();
    std::optional<db::PgFailure> failure;
};

// The arguments must outlive the await (callers pass named variables).
asio::awaitable<Loaded> load_inspections(db::ReadDb& db, const db::InspectionFilter& filter) {
    Loaded out;
    const auto found = co_await db::list_inspections(db, filter);
    if (found.failure) {
        out.failure = found.failure;
        co_return out;
    }
    const UnixMicros now = system_now();
    for (const db::InspectionRow& r : found.value) out.items.push_back(inspection_json(r, now));
    co_return out;
}

asio::awaitable<Response> list(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto& q = call.query;
    only(q, {"school", "district", "from", "to", "limit"});
    const auto from = time(q, "from");
    const auto to = time(q, "to");
    if (from && to && *to <= *from) throw BadParameter{"to", "must be after from"};
    const int limit = integer(q, "limit", 200, 1, 1000);
    const db::InspectionFilter filter{std::nullopt,
                                      text(q, "school"),
                                      text(q, "district"),
                                      visible_districts_json(call.who),
                                      from,
                                      to,
                                      limit};
    Loaded loaded = co_await load_inspections(db, filter);
    if (loaded.failure) co_return ApiRouter::database_error(call, *loaded.failure);
    co_return reply(call, http::status::ok, {{"items", std::move(loaded.items)}});
}

asio::awaitable<Response> one(db::ReadDb& db, const ApiRouter::Call& call) {
    only(call.query, {});
    const std::string id = call.path.substr(std::string("/api/v1/inspections/").size());
    const db::InspectionFilter filter{id,
                                      std::nullopt,
                                      std::nullopt,
                                      visible_districts_json(call.who),
                                      std::nullopt,
                                      std::nullopt,
                                      1};
    Loaded loaded = co_await load_inspections(db, filter);
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
    const db::NewInspection row{payload.dump(), call.who.name, call.who.role, now};
    const auto recorded = co_await db::record_inspection(db, row);
    if (recorded.failure) {
        if (recorded.failure->sqlstate == "23503") {
            co_return field_error(call, {"school", "unknown school \"" + in.school + "\""});
        }
        co_return ApiRouter::database_error(call, *recorded.failure);
    }
    const std::string id = recorded.value;
    const db::InspectionFilter load_filter{
        id, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 1};
    Loaded loaded = co_await load_inspections(db, load_filter);
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
