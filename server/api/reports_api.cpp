#include "server/api/reports_api.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/util/csv.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/params.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr std::array<const char*, 3> kMeasures = {"dispatch_s", "ack_s", "arrival_s"};
constexpr std::array<const char*, 4> kPercentiles = {"p50", "p90", "p95", "p99"};

// Reports by school run as this many branches, which PostgreSQL may run in
// parallel (docs/reports.md); reports by district as one branch per district,
// up to this many.
constexpr int kSchoolBranches = 4;
constexpr std::size_t kMaxDistrictBranches = 64;

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

// A text[] / int[] literal for a parameter. Ids are quoted, so any text is safe.
std::string array_literal(const std::vector<std::string>& items, bool quote) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        if (!quote) {
            out += items[i];
            continue;
        }
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

// Concatenation by appending (GCC 12 at -O2/-O3 warns, falsely, about
// -Wrestrict in `"literal" + std::string&&`).
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) out += p;
    return out;
}

// A district's SLA: its override, else the configured default.
struct DistrictSla {
    std::string id;
    std::string name;
    int ack_s = 0;
    int arrival_s = 0;
};

// Builds the report statement, a UNION ALL of branches that each compute
// whole groups. Every branch returns the same columns: key, name (NULL by
// district: the registry rows have it), the school's district (by school),
// count, reached (has an arrival), then per measure the float8[] of p50 p90
// p95 p99 and max, then the numbers within the ack and the arrival SLA.
class ReportSql {
  public:
    ReportSql(const ReportQuery& r, const std::vector<std::string>* limit,
              const std::vector<DistrictSla>& districts, const SlaConfig& defaults)
        : r_(r),
          limit_(limit),
          districts_(districts),
          default_ack_(defaults.ack_s),
          default_arrival_(defaults.arrival_s) {
        params_ = {format_iso_micros(r.from), format_iso_micros(r.to)};
    }

    // Empty when no group can have incidents (no visible district).
    std::string build() {
        if (r_.group_by == "district") return by_district();
        if (r_.group_by == "school") return by_school();
        return by_unit_or_kind();
    }
    const std::vector<std::optional<std::string>>& params() const { return params_; }

  private:
    std::string param(std::string value) {
        params_.push_back(std::move(value));
        std::string placeholder = "$";
        placeholder += std::to_string(params_.size());
        return placeholder;
    }

    // The range and drill conditions on incidents `i`, and the filters.
    std::string where() {
        std::string w =
            " AND i.received_at >= $1::timestamptz AND i.received_at < $2::timestamptz AND ";
        w += r_.drill ? "i.drill" : "NOT i.drill";
        return w;
    }

    // count, reached, per measure the float8[] of p50 p90 p95 p99 and max
    // (the max as the percentile 1: one sort serves all five), then the
    // numbers within the ack and the arrival SLA.
    static std::string aggregates(const std::string& ack_limit, const std::string& arrival_limit) {
        std::string a = "count(*), count(i.arrival_s)";
        for (const char* m : kMeasures) {
            a += ", percentile_cont('{0.5,0.9,0.95,0.99,1}'::float8[]) WITHIN GROUP (ORDER BY i." +
                 std::string(m) + ")";
        }
        // Within the SLA: accepted (arrived) no later than the limit; never
        // accepted (never reached) counts against it.
        a += ", count(*) FILTER (WHERE i.ack_s <= " + ack_limit + ")";
        a += ", count(*) FILTER (WHERE i.arrival_s <= " + arrival_limit + ")";
        return a;
    }

    // One branch per district (each an index-only scan of that district's
    // incidents in the range), so that PostgreSQL can share them among its
    // parallel workers; the district's SLA limits are constants of its branch.
    // Names and limits come from the registry rows read before.
    std::string by_district() {
        std::vector<const DistrictSla*> visible;
        for (const auto& d : districts_) {
            if (r_.district && d.id != *r_.district) continue;
            if (limit_ && std::find(limit_->begin(), limit_->end(), d.id) == limit_->end())
                continue;
            visible.push_back(&d);
        }
        if (visible.empty()) return "";
        std::vector<std::vector<const DistrictSla*>> chunks(
            std::min(visible.size(), kMaxDistrictBranches));
        for (std::size_t i = 0; i < visible.size(); ++i)
            chunks[i % chunks.size()].push_back(visible[i]);
        const std::string range = where();
        const std::string school = r_.school ? " AND i.school_id = " + param(*r_.school) : "";
        std::string sql;
        for (const auto& chunk : chunks) {
            std::vector<std::string> ids, acks, arrivals;
            for (const DistrictSla* d : chunk) {
                ids.push_back(d->id);
                acks.push_back(std::to_string(d->ack_s));
                arrivals.push_back(std::to_string(d->arrival_s));
            }
            std::string ids_param, district = "i.district_id = ";
            std::string ack = acks[0], arrival = arrivals[0];
            if (chunk.size() == 1) {
                district += param(ids[0]);
            } else {  // more districts than branches
                ids_param = param(array_literal(ids, true)) + "::text[]";
                district += cat({"ANY(", ids_param, ")"});
                ack = cat({"(", param(array_literal(acks, false)), "::int[])[array_position(",
                           ids_param, ", i.district_id)]"});
                arrival = cat({"(", param(array_literal(arrivals, false)),
                               "::int[])[array_position(", ids_param, ", i.district_id)]"});
            }
            if (!sql.empty()) sql += " UNION ALL ";
            sql += "SELECT i.district_id, NULL, NULL, " + aggregates(ack, arrival) +
                   " FROM incidents i WHERE " + district + range + school +
                   " GROUP BY i.district_id";
        }
        return sql;
    }

    // Branches by a hash of the school id, each walking its schools in id
    // order with an index-only scan of each school's incidents in the range.
    // The SLA is that of the district the incident was recorded in: normally
    // the school's, looked up from the registry otherwise.
    std::string by_school() {
        const std::string range = where();
        std::string filters;
        if (r_.district) filters += " AND i.district_id = " + param(*r_.district);
        if (r_.school) filters += " AND k.id = " + param(*r_.school);
        if (limit_) filters += " AND " + district_in("i.district_id", param(json_array(*limit_)));
        std::vector<std::string> ids, acks, arrivals;
        for (const auto& d : districts_) {
            ids.push_back(d.id);
            acks.push_back(std::to_string(d.ack_s));
            arrivals.push_back(std::to_string(d.arrival_s));
        }
        const std::string ids_param = param(array_literal(ids, true)) + "::text[]";
        const std::string acks_param = param(array_literal(acks, false)) + "::int[]";
        const std::string arrivals_param = param(array_literal(arrivals, false)) + "::int[]";
        const std::string default_ack = param(std::to_string(default_ack_));
        const std::string default_arrival = param(std::to_string(default_arrival_));
        const auto limit = [&](const std::string& column, const std::string& fallback,
                               const std::string& table) {
            return "CASE WHEN i.district_id = k.district_id THEN coalesce(sd." + column + ", " +
                   fallback + ") ELSE (" + table + ")[array_position(" + ids_param +
                   ", i.district_id)] END";
        };
        const std::string ack = limit("sla_ack_s", default_ack, acks_param);
        const std::string arrival = limit("sla_arrival_s", default_arrival, arrivals_param);
        std::string sql;
        for (int b = 0; b < kSchoolBranches; ++b) {
            if (!sql.empty()) sql += " UNION ALL ";
            sql += "SELECT k.id, k.name, k.district_id, " + aggregates(ack, arrival) +
                   " FROM schools k JOIN districts sd ON sd.id = k.district_id"
                   " JOIN incidents i ON i.school_id = k.id WHERE (hashtext(k.id) & " +
                   std::to_string(kSchoolBranches - 1) + ") = " + std::to_string(b) + range +
                   filters + " GROUP BY k.id";
        }
        return sql;
    }

    // By first arriving unit (unreached incidents: key NULL, "unassigned") or
    // by kind: one scan of the range.
    std::string by_unit_or_kind() {
        const bool unit = r_.group_by == "unit";
        std::string filters = where();
        if (r_.district) filters += " AND i.district_id = " + param(*r_.district);
        if (r_.school) filters += " AND i.school_id = " + param(*r_.school);
        if (limit_) filters += " AND " + district_in("i.district_id", param(json_array(*limit_)));
        const std::string ack =
            "coalesce(sd.sla_ack_s, " + param(std::to_string(default_ack_)) + ")";
        const std::string arrival =
            "coalesce(sd.sla_arrival_s, " + param(std::to_string(default_arrival_)) + ")";
        std::string sql = unit ? "SELECT i.first_unit_id, coalesce(u.callsign, i.first_unit_id, "
                                 "'unassigned'), NULL, "
                               : "SELECT i.kind, i.kind, NULL, ";
        sql += aggregates(ack, arrival) +
               " FROM incidents i JOIN districts sd ON sd.id = i.district_id";
        if (unit) sql += " LEFT JOIN units u ON u.id = i.first_unit_id";
        sql += " WHERE true" + filters +
               (unit ? " GROUP BY i.first_unit_id, u.callsign" : " GROUP BY i.kind");
        return sql;
    }

    const ReportQuery& r_;
    const std::vector<std::string>* limit_;
    const std::vector<DistrictSla>& districts_;
    int default_ack_;
    int default_arrival_;
    std::vector<std::optional<std::string>> params_;
};

// "{0.5,1.25,2,3}" (a float8[] as text) -> its numbers; NULL -> nothing.
std::vector<double> float_array(const PGresult* res, int row, int col) {
    std::vector<double> out;
    if (PQgetisnull(res, row, col)) return out;
    const std::string text = db::cell(res, row, col);
    std::size_t at = 1;  // after '{'
    while (at < text.size() && text[at] != '}') {
        std::size_t used = 0;
        out.push_back(std::stod(text.substr(at), &used));
        at += used;
        if (at < text.size() && text[at] == ',') ++at;
    }
    return out;
}

json group_row(const ReportQuery& r, const PGresult* res, int row,
               const std::vector<DistrictSla>& districts) {
    json g;
    g["key"] = PQgetisnull(res, row, 0) ? json(nullptr) : json(db::cell(res, row, 0));
    g["name"] = db::cell(res, row, 1);
    const long long n = std::stoll(db::cell(res, row, 3));
    g["count"] = n;
    g["unreached"] = n - std::stoll(db::cell(res, row, 4));
    int col = 5;
    for (const char* m : kMeasures) {
        const auto values = float_array(res, row, col++);  // p50 p90 p95 p99 max
        json stats;
        for (std::size_t p = 0; p < kPercentiles.size(); ++p) {
            stats[kPercentiles[p]] = p < values.size() ? json(values[p]) : json(nullptr);
        }
        stats["max"] = values.size() > kPercentiles.size() ? json(values.back()) : json(nullptr);
        g[m] = std::move(stats);
    }
    const long long ack_ok = std::stoll(db::cell(res, row, col++));
    const long long arrival_ok = std::stoll(db::cell(res, row, col++));
    g["sla_ack_pct"] = 100.0 * static_cast<double>(ack_ok) / static_cast<double>(n);
    g["sla_arrival_pct"] = 100.0 * static_cast<double>(arrival_ok) / static_cast<double>(n);
    if (r.group_by == "school") g["district"] = db::cell(res, row, 2);
    if (r.group_by == "district") {
        const std::string id = db::cell(res, row, 0);
        const auto d = std::find_if(districts.begin(), districts.end(),
                                    [&id](const DistrictSla& x) { return x.id == id; });
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
    const std::string districts_sql =
        "SELECT id, name, sla_ack_s, sla_arrival_s FROM districts ORDER BY id";
    const std::vector<std::optional<std::string>> no_params;
    auto registry = co_await db.read(districts_sql, no_params);
    if (registry.failure) co_return ApiRouter::database_error(call, *registry.failure);
    std::vector<DistrictSla> districts;
    const PGresult* d = registry.results.at(0).get();
    for (int row = 0; row < PQntuples(d); ++row) {
        districts.push_back(
            {db::cell(d, row, 0), db::cell(d, row, 1),
             PQgetisnull(d, row, 2) ? config.sla.ack_s : std::stoi(db::cell(d, row, 2)),
             PQgetisnull(d, row, 3) ? config.sla.arrival_s : std::stoi(db::cell(d, row, 3))});
    }

    ReportSql builder(r, district_limit(call.who), districts, config.sla);
    const std::string sql = builder.build();
    json groups = json::array();
    if (!sql.empty()) {
        // Settings for this transaction only: JIT compilation would cost more
        // than it saves; the per-group sorts of the percentiles stay in memory.
        std::vector<db::PgQuery> queries;
        queries.push_back(
            {"SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true),"
             " set_config('statement_timeout', '120s', true)",
             {},
             false});
        queries.push_back({sql, builder.params(), false});
        auto outcome = co_await db.read_transaction(queries);
        if (outcome.failure) co_return ApiRouter::database_error(call, *outcome.failure);
        const PGresult* res = outcome.results.back().get();
        // Branches come back in any order: by key, the unassigned (null) last.
        std::vector<std::pair<std::optional<std::string>, int>> order;
        for (int row = 0; row < PQntuples(res); ++row) {
            order.emplace_back(PQgetisnull(res, row, 0)
                                   ? std::nullopt
                                   : std::optional<std::string>(db::cell(res, row, 0)),
                               row);
        }
        std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
            if (!a.first || !b.first) return a.first.has_value() && !b.first.has_value();
            return *a.first < *b.first;
        });
        for (const auto& [key, row] : order) groups.push_back(group_row(r, res, row, districts));
    }

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
