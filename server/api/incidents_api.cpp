#include "server/api/incidents_api.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/api/district_scope.hpp"
#include "server/api/json_values.hpp"
#include "server/api/params.hpp"
#include "server/db/incident_queries.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

json incident_json(const db::IncidentRow& r) {
    return {{"id", r.id},
            {"school", r.school},
            {"school_name", r.school_name},
            {"district", r.district},
            {"kind", r.kind},
            {"drill", r.drill},
            {"state", r.state},
            {"received_at", r.received_at},
            {"units", r.units},
            {"dispatch_s", or_null(r.dispatch_s)},
            {"ack_s", or_null(r.ack_s)},
            {"arrival_s", or_null(r.arrival_s)},
            {"closed_at", or_null(r.closed_at)}};
}

asio::awaitable<ApiRouter::Response> list(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto& q = call.query;
    only(q, {"from", "to", "district", "school", "status", "drill", "limit", "cursor", "kind"});
    const auto from = time(q, "from");
    const auto to = time(q, "to");
    if (from && to && *from > *to) throw BadParameter{"to", "must not be before from"};
    const auto status = one_of(q, "status",
                               {"open", "closed", "received", "dispatched", "no_unit_available",
                                "accepted", "en_route", "on_scene", "resolved", "cancelled"});
    const auto drill = boolean(q, "drill");
    const int limit = integer(q, "limit", 50, 1, 500);
    db::IncidentFilter filter{from,
                              to,
                              text(q, "district"),
                              text(q, "school"),
                              text(q, "kind"),
                              status,
                              drill,
                              visible_districts_json(call.who),
                              std::nullopt,
                              limit};
    if (auto c = text(q, "cursor")) {
        const auto sep = c->find('_');
        try {
            if (sep == std::string::npos) throw 0;
            filter.after =
                db::IncidentFilter::After{std::stoll(c->substr(0, sep)), c->substr(sep + 1)};
        } catch (...) {
            throw BadParameter{"cursor", "is not a cursor this server gave out"};
        }
    }
    const auto found = co_await db::list_incidents(db, filter);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    json items = json::array();
    for (const db::IncidentRow& r : found.value.items) items.push_back(incident_json(r));
    json next = nullptr;
    if (found.value.more) {
        const db::IncidentRow& last = found.value.items.back();
        next = std::to_string(last.received_us) + "_" + last.id;
    }
    co_return ApiRouter::json(http::status::ok, {{"items", items}, {"next_cursor", next}},
                              call.req.version(), call.req.keep_alive());
}

asio::awaitable<ApiRouter::Response> detail(db::ReadDb& db, const ApiRouter::Call& call) {
    only(call.query, {});
    const std::string id = call.path.substr(std::string("/api/v1/incidents/").size());
    const std::optional<std::string> visible = visible_districts_json(call.who);
    const auto found = co_await db::incident_detail(db, id, visible);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    if (!found.value) {
        co_return ApiRouter::error(http::status::not_found, "not_found", "no incident " + id,
                                   call.req.version(), call.req.keep_alive());
    }
    json incident = incident_json(found.value->incident);
    json timeline = json::array();
    for (const db::IncidentEventRow& e : found.value->timeline) {
        timeline.push_back({{"at", e.at},
                            {"type", e.type},
                            {"actor", e.actor},
                            {"unit", or_null(e.unit)},
                            {"details", e.details}});
    }
    incident["timeline"] = std::move(timeline);
    co_return ApiRouter::json(http::status::ok, incident, call.req.version(),
                              call.req.keep_alive());
}

}  // namespace

void add_incident_routes(ApiRouter& router, db::ReadDb& db) {
    router.add("GET", "/api/v1/incidents",
               {"dispatcher", "auditor", "education", "admin", "inspector"},
               [&db](const ApiRouter::Call& call) { return list(db, call); });
    router.add("GET", "/api/v1/incidents/",
               {"dispatcher", "auditor", "education", "admin", "inspector"},
               [&db](const ApiRouter::Call& call) { return detail(db, call); });
}

}  // namespace huxiao::api
