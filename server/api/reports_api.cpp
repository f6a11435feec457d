#include "server/api/reports_api.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/util/csv.hpp"
#include "server/api/csv_attachment.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/json_values.hpp"
#include "server/api/params.hpp"
#include "server/db/report_queries.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr const auto& kMeasures = db::kResponseMeasures;
constexpr std::array<const char*, 4> kPercentiles = {"p50", "p90", "p95", "p99"};

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
    if (!from)
        throw BadParameter{"from", "is required (an ISO-8601 time like 2026-09-01T00:00:00Z)"};
    const auto to = time(q, "to");
    if (!to) throw BadParameter{"to", "is required (an ISO-8601 time like 2026-10-01T00:00:00Z)"};
    if (*to <= *from) throw BadParameter{"to", "must be after from"};
    const auto group_by = one_of(q, "group_by", {"district", "school", "unit", "kind"});
    if (!group_by)
        throw BadParameter{"group_by", "is required: one of district, school, unit, kind"};
    r.from = *from;
    r.to = *to;
    r.group_by = *group_by;
    r.drill = boolean(q, "drill").value_or(false);
    r.district = text(q, "district");
    r.school = text(q, "school");
    return r;
}

// The districts a caller may see (default-deny, see district_scope.hpp):
// null for every district, else exactly these (possibly none).
const std::vector<std::string>* district_limit(const Principal& who) {
    if (!visible_districts_json(who)) return nullptr;
    return &who.districts;
}

json group_row(const ReportQuery& r, const db::ResponseTimeGroup& row,
               const std::vector<db::DistrictSla>& districts) {
    json g;
    g["key"] = or_null(row.key);
    g["name"] = row.name;
    const long long n = row.count;
    g["count"] = n;
    g["unreached"] = n - row.reached;
    for (std::size_t m = 0; m < kMeasures.size(); ++m) {
        const auto& values = row.measures[m];  // p50 p90 p95 p99 max
        json stats;
        for (std::size_t p = 0; p < kPercentiles.size(); ++p) {
            stats[kPercentiles[p]] = p < values.size() ? json(values[p]) : json(nullptr);
        }
        stats["max"] = values.size() > kPercentiles.size() ? json(values.back()) : json(nullptr);
        g[kMeasures[m]] = std::move(stats);
    }
    const long long ack_ok = row.within_ack_sla;
    const long long arrival_ok = row.within_arrival_sla;
    g["sla_ack_pct"] = 100.0 * static_cast<double>(ack_ok) / static_cast<double>(n);
    g["sla_arrival_pct"] = 100.0 * static_cast<double>(arrival_ok) / static_cast<double>(n);
    if (r.group_by == "school") g["district"] = row.school_district;
    if (r.group_by == "district") {
        const std::string id = row.key.value_or("");
        const auto d = std::find_if(districts.begin(), districts.end(),
                                    [&id](const db::DistrictSla& x) { return x.id == id; });
        if (d != districts.end()) {
            g["name"] = d->name;
            g["sla_ack_s"] = d->ack_s;
            g["sla_arrival_s"] = d->arrival_s;
        }
    }
    return g;
}

std::string iso(UnixMicros t) {
    return t % 1000 == 0 ? format_iso_millis(t) : format_iso_micros(t);
}

// RFC 4180 quoting, and no cell that a spreadsheet would run as a formula.
std::string csv_field(const std::string& s) { return csv_text_cell(s); }

// Numbers as in the JSON (shortest text that reads back the same); null empty.
std::string csv_value(const json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) return csv_field(v.get<std::string>());
    return v.dump();
}

std::string to_csv(const json& groups) {
    // Appends only: GCC 12 at -O2 warns (-Wrestrict, a false positive) about
    // `"," + std::string(...)`.
    std::string out = "key,name,count,unreached";
    for (const char* m : kMeasures) {
        const std::string prefix(m, std::strlen(m) - 2);  // "dispatch_s" -> "dispatch"
        for (const char* p : kPercentiles) {
            out += ',';
            out += prefix;
            out += '_';
            out += p;
        }
        out += ',';
        out += prefix;
        out += "_max";
    }
    out += ",sla_ack_pct,sla_arrival_pct\r\n";
    for (const auto& g : groups) {
        out += csv_value(g["key"]);
        for (const char* f : {"name", "count", "unreached"}) {
            out += ',';
            out += csv_value(g[f]);
        }
        for (const char* m : kMeasures) {
            for (const char* p : {"p50", "p90", "p95", "p99", "max"}) {
                out += ',';
                out += csv_value(g[m][p]);
            }
        }
        for (const char* f : {"sla_ack_pct", "sla_arrival_pct"}) {
            out += ',';
            out += csv_value(g[f]);
        }
        out += "\r\n";
    }
    return out;
}

asio::awaitable<ApiRouter::Response> response_times(db::ReadDb& db, const Config& config,
                                                    const ApiRouter::Call& call, bool csv) {
    const ReportQuery r = parse(call.query);

    // The districts and their SLAs first (a few rows of the registry): the
    // report by district has a branch per district, the one by school looks
    // up the SLA of an incident recorded in another district than its school's.
    const auto registry = co_await db::district_slas(db, config.sla);
    if (registry.failure) co_return ApiRouter::database_error(call, *registry.failure);
    const std::vector<db::DistrictSla>& districts = registry.value;

    const db::ResponseTimeQuery query{
        r.from, r.to, r.group_by, r.drill, r.district, r.school, district_limit(call.who)};
    const auto found = co_await db::response_time_groups(db, query, districts, config.sla);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    json groups = json::array();
    for (const db::ResponseTimeGroup& g : found.value) groups.push_back(group_row(r, g, districts));

    if (csv) {
        co_return csv_attachment(call, "response-times-" + r.group_by + ".csv", to_csv(groups));
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
    router.add("GET", "/api/v1/reports/response-times",
               {"auditor", "dispatcher", "education", "admin", "inspector"},
               [&db, &config](const ApiRouter::Call& call) {
                   return response_times(db, config, call, false);
               });
    router.add("GET", "/api/v1/reports/response-times.csv",
               {"auditor", "dispatcher", "education", "admin", "inspector"},
               [&db, &config](const ApiRouter::Call& call) {
                   return response_times(db, config, call, true);
               });
}

}  // namespace huxiao::api
