#include "server/api/reports_api.hpp"

#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <array>

#include "server/api/params.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr std::array<const char*, 3> kMeasures = {"dispatch_s", "ack_s", "arrival_s"};
constexpr std::array<const char*, 4> kPercentiles = {"p50", "p90", "p95", "p99"};

// The columns of one measure: seconds from received_at to the first event of
// its kind, NULL when there was none. date_part (not extract) keeps them
// double precision, which is what percentile_cont interpolates.
constexpr std::array<const char*, 3> kMeasureColumns = {"i.first_offer_at", "i.first_accept_at",
                                                        "i.first_arrival_at"};

struct ReportQuery {
    UnixMicros from = 0;
    UnixMicros to = 0;
    std::string group_by;
    bool drill = false;
    std::optional<std::string> district;
    std::optional<std::string> school;
};

ReportQuery parse(const Query& q) {
    only(q, {"from", "to", "group_by", "drill", "district", "school"});
    ReportQuery r;
    const auto from = time(q, "from");
    if (!from) throw BadParameter{"from", "is required (an ISO-8601 time like 2026-09-01T00:00:00Z)"};
    const auto to = time(q, "to");
    if (!to) throw BadParameter{"to", "is required (an ISO-8601 time like 2026-10-01T00:00:00Z)"};
    if (*to <= *from) throw BadParameter{"to", "must be after from"};
    const auto group_by = one_of(q, "group_by", {"district", "school", "unit", "kind"});
    if (!group_by) throw BadParameter{"group_by", "is required: one of district, school, unit, kind"};
    r.from = *from;
    r.to = *to;
    r.group_by = *group_by;
    r.drill = boolean(q, "drill").value_or(false);
    r.district = text(q, "district");
    r.school = text(q, "school");
    return r;
}

// Education tokens limited to districts see only those (as in incidents_api).
std::optional<std::string> district_limit(const Principal& who) {
    if (who.role != "education" || who.districts.empty()) return std::nullopt;
    std::string array = "{";
    for (std::size_t i = 0; i < who.districts.size(); ++i) {
        array += (i ? "," : "") + who.districts[i];
    }
    return array + "}";
}

// The one statement of a report. Parameters: $1 from, $2 to, $3 drill,
// $4 default ack SLA, $5 default arrival SLA, then the optional filters.
// Result columns: key, name, extra (district of a school, or the district's
// SLA "ack/arrival"), count, unreached, then per measure p50 p90 p95 p99 max,
// then the number within the ack SLA and within the arrival SLA.
std::string report_sql(const ReportQuery& r, const std::optional<std::string>& limit,
                       std::vector<std::optional<std::string>>& params) {
    const char* key = r.group_by == "district" ? "i.district_id"
                      : r.group_by == "school" ? "i.school_id"
                      : r.group_by == "unit"   ? "i.first_unit_id"
                                               : "i.kind";
    std::string sql = "SELECT g.key, ";
    if (r.group_by == "district") {
        sql += "d.name, coalesce(d.sla_ack_s, $4)::text || '/' || coalesce(d.sla_arrival_s, $5)::text, ";
    } else if (r.group_by == "school") {
        sql += "s.name, s.district_id, ";
    } else if (r.group_by == "unit") {
        sql += "coalesce(u.callsign, 'unassigned'), NULL, ";
    } else {
        sql += "g.key, NULL, ";
    }
    sql += "g.n, g.unreached";
    for (const char* m : kMeasures) {
        const std::string a = std::string("g.") + m;
        for (int p = 1; p <= 4; ++p) sql += ", " + a + "[" + std::to_string(p) + "]";
        sql += ", " + a + "_max";
    }
    sql += ", g.ack_ok, g.arrival_ok FROM (SELECT " + std::string(key) +
           " AS key, count(*) AS n, count(*) FILTER (WHERE i.first_arrival_at IS NULL) AS unreached";
    for (std::size_t m = 0; m < kMeasures.size(); ++m) {
        const std::string seconds =
            "date_part('epoch', " + std::string(kMeasureColumns[m]) + " - i.received_at)";
        sql += ", percentile_cont('{0.5,0.9,0.95,0.99}'::float8[]) WITHIN GROUP (ORDER BY " + seconds +
               ") AS " + kMeasures[m] + ", max(" + seconds + ") AS " + kMeasures[m] + "_max";
    }
    // Within the SLA: reached (accepted) no later than the district's limit;
    // never reached (accepted) counts against it.
    sql +=
        ", count(*) FILTER (WHERE date_part('epoch', i.first_accept_at - i.received_at)"
        " <= coalesce(sd.sla_ack_s, $4)) AS ack_ok"
        ", count(*) FILTER (WHERE date_part('epoch', i.first_arrival_at - i.received_at)"
        " <= coalesce(sd.sla_arrival_s, $5)) AS arrival_ok"
        " FROM incidents i JOIN districts sd ON sd.id = i.district_id"
        " WHERE i.received_at >= $1::timestamptz AND i.received_at < $2::timestamptz"
        " AND i.drill = $3::boolean";
    params = {format_iso_micros(r.from), format_iso_micros(r.to), r.drill ? "true" : "false"};
    params.push_back(std::nullopt);  // $4, $5: filled by the caller
    params.push_back(std::nullopt);
    const auto add = [&](const std::string& condition, const std::string& value) {
        params.push_back(value);
        sql += " AND " + condition + "$" + std::to_string(params.size());
    };
    if (r.district) add("i.district_id = ", *r.district);
    if (r.school) add("i.school_id = ", *r.school);
    if (limit) {
        add("i.district_id = ANY(", *limit);
        sql += "::text[])";
    }
    sql += " GROUP BY 1) g";
    if (r.group_by == "district") sql += " JOIN districts d ON d.id = g.key";
    if (r.group_by == "school") sql += " JOIN schools s ON s.id = g.key";
    if (r.group_by == "unit") sql += " LEFT JOIN units u ON u.id = g.key";
    sql += " ORDER BY g.key NULLS LAST";
    return sql;
}

json number_or_null(const PGresult* res, int row, int col) {
    if (PQgetisnull(res, row, col)) return nullptr;
    return std::stod(db::cell(res, row, col));
}

json group_row(const ReportQuery& r, const PGresult* res, int row) {
    json g;
    g["key"] = PQgetisnull(res, row, 0) ? json(nullptr) : json(db::cell(res, row, 0));
    g["name"] = db::cell(res, row, 1);
    const long long n = std::stoll(db::cell(res, row, 3));
    g["count"] = n;
    g["unreached"] = std::stoll(db::cell(res, row, 4));
    int col = 5;
    for (const char* m : kMeasures) {
        json stats;
        for (const char* p : kPercentiles) stats[p] = number_or_null(res, row, col++);
        stats["max"] = number_or_null(res, row, col++);
        g[m] = std::move(stats);
    }
    const long long ack_ok = std::stoll(db::cell(res, row, col++));
    const long long arrival_ok = std::stoll(db::cell(res, row, col++));
    g["sla_ack_pct"] = 100.0 * static_cast<double>(ack_ok) / static_cast<double>(n);
    g["sla_arrival_pct"] = 100.0 * static_cast<double>(arrival_ok) / static_cast<double>(n);
    if (r.group_by == "school") g["district"] = db::cell(res, row, 2);
    if (r.group_by == "district") {
        const std::string sla = db::cell(res, row, 2);
        const auto slash = sla.find('/');
        g["sla_ack_s"] = std::stoi(sla.substr(0, slash));
        g["sla_arrival_s"] = std::stoi(sla.substr(slash + 1));
    }
    return g;
}

std::string iso(UnixMicros t) {
    return t % 1000 == 0 ? format_iso_millis(t) : format_iso_micros(t);
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

// Numbers as in the JSON (shortest text that reads back the same); null empty.
std::string csv_value(const json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) return csv_field(v.get<std::string>());
    return v.dump();
}

std::string to_csv(const json& groups) {
    std::string out = "key,name,count,unreached";
    for (const char* m : kMeasures) {
        const std::string prefix = std::string(m).substr(0, std::string(m).size() - 2);  // "dispatch"
        for (const char* p : kPercentiles) out += "," + prefix + "_" + p;
        out += "," + prefix + "_max";
    }
    out += ",sla_ack_pct,sla_arrival_pct\r\n";
    for (const auto& g : groups) {
        out += csv_value(g["key"]) + "," + csv_value(g["name"]) + "," + csv_value(g["count"]) + "," +
               csv_value(g["unreached"]);
        for (const char* m : kMeasures) {
            for (const char* p : kPercentiles) out += "," + csv_value(g[m][p]);
            out += "," + csv_value(g[m]["max"]);
        }
        out += "," + csv_value(g["sla_ack_pct"]) + "," + csv_value(g["sla_arrival_pct"]) + "\r\n";
    }
    return out;
}

asio::awaitable<ApiRouter::Response> response_times(db::ReadDb& db, const Config& config,
                                                    const ApiRouter::Call& call, bool csv) {
    const ReportQuery r = parse(call.query);
    const auto limit = district_limit(call.who);
    std::vector<std::optional<std::string>> params;
    const std::string sql = report_sql(r, limit, params);
    params[3] = std::to_string(config.sla.ack_s);
    params[4] = std::to_string(config.sla.arrival_s);

    auto outcome = co_await db.query(sql, params);
    if (outcome.failure) {
        co_return ApiRouter::error(http::status::service_unavailable, "unavailable",
                                   "database: " + outcome.failure->message, call.req.version(),
                                   call.req.keep_alive());
    }
    const PGresult* res = outcome.results.at(0).get();
    json groups = json::array();
    for (int row = 0; row < PQntuples(res); ++row) groups.push_back(group_row(r, res, row));

    if (csv) {
        ApiRouter::Response out{http::status::ok, call.req.version()};
        out.set(http::field::server, "huxiaod");
        out.set(http::field::content_type, "text/csv; charset=utf-8");
        out.set(http::field::content_disposition,
                "attachment; filename=\"response-times-" + r.group_by + ".csv\"");
        out.set(http::field::cache_control, "no-store");
        out.keep_alive(call.req.keep_alive());
        out.body() = to_csv(groups);
        out.prepare_payload();
        co_return out;
    }
    json body = {{"from", iso(r.from)},
                 {"to", iso(r.to)},
                 {"group_by", r.group_by},
                 {"drill", r.drill},
                 {"sla", {{"ack_s", config.sla.ack_s}, {"arrival_s", config.sla.arrival_s}}},
                 {"groups", std::move(groups)}};
    if (r.district) body["district"] = *r.district;
    if (r.school) body["school"] = *r.school;
    co_return ApiRouter::json(http::status::ok, body, call.req.version(), call.req.keep_alive());
}

}  // namespace

void add_report_routes(ApiRouter& router, db::ReadDb& db, const Config& config) {
    router.add("GET", "/api/v1/reports/response-times", {"auditor", "dispatcher", "education", "admin"},
               [&db, &config](const ApiRouter::Call& call) { return response_times(db, config, call, false); });
    router.add("GET", "/api/v1/reports/response-times.csv", {"auditor", "dispatcher", "education", "admin"},
               [&db, &config](const ApiRouter::Call& call) { return response_times(db, config, call, true); });
}

}  // namespace huxiao::api
