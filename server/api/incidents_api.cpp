#include "server/api/incidents_api.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/api/district_scope.hpp"
#include "server/api/params.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// Columns shared by the list and the detail, in this order.
constexpr const char* kIncidentColumns =
    "i.id, i.school_id, i.district_id, i.kind, i.drill, i.state,"
    " to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " (extract(epoch FROM i.received_at) * 1000000)::bigint,"
    " coalesce((SELECT json_agg(DISTINCT e.unit_id) FROM incident_events e"
    "            WHERE e.incident_id = i.id AND e.type = 'unit_accepted'), '[]'),"
    " s.name,"
    " extract(epoch FROM i.first_offer_at - i.received_at),"
    " extract(epoch FROM i.first_accept_at - i.received_at),"
    " extract(epoch FROM i.first_arrival_at - i.received_at),"
    " to_char(i.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

json seconds_or_null(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return nullptr;
    return std::stod(db::cell(r, row, col));
}

json incident_row(const PGresult* r, int row) {
    json j = {{"id", db::cell(r, row, 0)},
              {"school", db::cell(r, row, 1)},
              {"school_name", db::cell(r, row, 9)},
              {"district", db::cell(r, row, 2)},
              {"kind", db::cell(r, row, 3)},
              {"drill", db::cell(r, row, 4) == "t"},
              {"state", db::cell(r, row, 5)},
              {"received_at", db::cell(r, row, 6)},
              {"units", json::parse(db::cell(r, row, 8))},
              {"dispatch_s", seconds_or_null(r, row, 10)},
              {"ack_s", seconds_or_null(r, row, 11)},
              {"arrival_s", seconds_or_null(r, row, 12)},
              {"closed_at", PQgetisnull(r, row, 13) ? json(nullptr) : json(db::cell(r, row, 13))}};
    return j;
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
    std::optional<std::pair<long long, std::string>> cursor;
    if (auto c = text(q, "cursor")) {
        const auto sep = c->find('_');
        try {
            if (sep == std::string::npos) throw 0;
            cursor.emplace(std::stoll(c->substr(0, sep)), c->substr(sep + 1));
        } catch (...) {
            throw BadParameter{"cursor", "is not a cursor this server gave out"};
        }
    }

    std::string sql = std::string("SELECT ") + kIncidentColumns +
                      " FROM incidents i JOIN schools s ON s.id = i.school_id WHERE true";
    std::vector<std::optional<std::string>> params;
    const auto add = [&](const std::string& condition, std::optional<std::string> value) {
        params.push_back(std::move(value));
        std::string c = condition;
        const auto at = c.find('?');
        c.replace(at, 1, "$" + std::to_string(params.size()));
        sql += " AND " + c;
    };
    if (from) add("i.received_at >= ?::timestamptz", format_iso_micros(*from));
    if (to) add("i.received_at < ?::timestamptz", format_iso_micros(*to));
    if (auto d = text(q, "district")) add("i.district_id = ?", *d);
    if (auto s = text(q, "school")) add("i.school_id = ?", *s);
    if (auto k = text(q, "kind")) add("i.kind = ?", *k);
    if (status) {
        if (*status == "open") {
            sql += " AND i.closed_at IS NULL";
        } else if (*status == "closed") {
            sql += " AND i.closed_at IS NOT NULL";
        } else {
            add("i.state = ?", *status);
        }
    }
    if (drill) add("i.drill = ?::boolean", *drill ? "true" : "false");
    if (auto limit_to = visible_districts_json(call.who))
        add(district_in("i.district_id", "?"), *limit_to);
    if (cursor) {
        params.push_back(std::to_string(cursor->first));
        params.push_back(cursor->second);
        sql += " AND ((extract(epoch FROM i.received_at) * 1000000)::bigint, i.id) < ($" +
               std::to_string(params.size() - 1) + "::bigint, $" + std::to_string(params.size()) +
               ")";
    }
    sql += " ORDER BY i.received_at DESC, i.id DESC LIMIT " + std::to_string(limit + 1);

    auto outcome = co_await db.read(sql, params);
    if (outcome.failure) co_return ApiRouter::database_error(call, *outcome.failure);
    const PGresult* r = outcome.results.at(0).get();
    json items = json::array();
    const int rows = PQntuples(r);
    for (int i = 0; i < std::min(rows, limit); ++i) items.push_back(incident_row(r, i));
    json next = nullptr;
    if (rows > limit) next = db::cell(r, limit - 1, 7) + "_" + db::cell(r, limit - 1, 0);
    co_return ApiRouter::json(http::status::ok, {{"items", items}, {"next_cursor", next}},
                              call.req.version(), call.req.keep_alive());
}

asio::awaitable<ApiRouter::Response> detail(db::ReadDb& db, const ApiRouter::Call& call) {
    only(call.query, {});
    const std::string id = call.path.substr(std::string("/api/v1/incidents/").size());
    std::vector<db::PgQuery> queries;
    std::string sql = std::string("SELECT ") + kIncidentColumns +
                      " FROM incidents i JOIN schools s ON s.id = i.school_id WHERE i.id = $1";
    std::vector<std::optional<std::string>> params{id};
    if (auto limit_to = visible_districts_json(call.who)) {
        sql += " AND " + district_in("i.district_id", "$2");
        params.push_back(*limit_to);
    }
    queries.push_back({sql, params, false});
    queries.push_back(
        {"SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), type, actor,"
         " unit_id, details::text FROM incident_events WHERE incident_id = $1 ORDER BY at, seq",
         {id},
         false});
    auto outcome = co_await db.transaction(std::move(queries));
    if (outcome.failure) co_return ApiRouter::database_error(call, *outcome.failure);
    const PGresult* r = outcome.results.at(0).get();
    if (PQntuples(r) == 0) {
        co_return ApiRouter::error(http::status::not_found, "not_found", "no incident " + id,
                                   call.req.version(), call.req.keep_alive());
    }
    json incident = incident_row(r, 0);
    json timeline = json::array();
    const PGresult* t = outcome.results.at(1).get();
    for (int i = 0; i < PQntuples(t); ++i) {
        timeline.push_back(
            {{"at", db::cell(t, i, 0)},
             {"type", db::cell(t, i, 1)},
             {"actor", db::cell(t, i, 2)},
             {"unit", PQgetisnull(t, i, 3) ? json(nullptr) : json(db::cell(t, i, 3))},
             {"details", json::parse(db::cell(t, i, 4))}});
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
