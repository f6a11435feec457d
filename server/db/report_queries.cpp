#include "server/db/report_queries.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

#include "server/db/read_db.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

// Reports by school run as this many branches, which PostgreSQL may run in
// parallel (docs/reports.md); reports by district as one branch per district,
// up to this many.
constexpr int kSchoolBranches = 4;
constexpr std::size_t kMaxDistrictBranches = 64;
constexpr const auto& kMeasures = kResponseMeasures;

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

// ["D-1","D-2"]: a list of ids as a JSON array parameter.
std::string json_array(const std::vector<std::string>& ids) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& id : ids) array.push_back(id);
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Builds the report statement, a UNION ALL of branches that each compute
// whole groups. Every branch returns the same columns: key, name (NULL by
// district: the registry rows have it), the school's district (by school),
// count, reached (has an arrival), then per measure the float8[] of p50 p90
// p95 p99 and max, then the numbers within the ack and the arrival SLA.
class ReportSql {
  public:
    ReportSql(const ResponseTimeQuery& r, const std::vector<DistrictSla>& districts,
              const SlaConfig& defaults)
        : r_(r),
          limit_(r.visible_districts),
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
        std::string a = "count(*) AS n, count(i.arrival_s) AS reached";
        for (const char* m : kMeasures) {
            a += ", percentile_cont('{0.5,0.9,0.95,0.99,1}'::float8[]) WITHIN GROUP (ORDER BY i." +
                 std::string(m) + ") AS " + m;
        }
        // Within the SLA: accepted (arrived) no later than the limit; never
        // accepted (never reached) counts against it.
        a += ", count(*) FILTER (WHERE i.ack_s <= " + ack_limit + ") AS ack_ok";
        a += ", count(*) FILTER (WHERE i.arrival_s <= " + arrival_limit + ") AS arrival_ok";
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
            sql += "SELECT i.district_id AS group_key, NULL AS name, NULL AS school_district, " +
                   aggregates(ack, arrival) + " FROM incidents i WHERE " + district + range +
                   school + " GROUP BY i.district_id";
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
            sql += "SELECT k.id AS group_key, k.name AS name, k.district_id AS school_district, " +
                   aggregates(ack, arrival) +
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
        std::string sql =
            unit ? "SELECT i.first_unit_id AS group_key, coalesce(u.callsign, "
                   "i.first_unit_id, 'unassigned') AS name, NULL AS school_district, "
                 : "SELECT i.kind AS group_key, i.kind AS name, NULL AS school_district, ";
        sql += aggregates(ack, arrival) +
               " FROM incidents i JOIN districts sd ON sd.id = i.district_id";
        if (unit) sql += " LEFT JOIN units u ON u.id = i.first_unit_id";
        sql += " WHERE true" + filters +
               (unit ? " GROUP BY i.first_unit_id, u.callsign" : " GROUP BY i.kind");
        return sql;
    }

    const ResponseTimeQuery& r_;
    const std::vector<std::string>* limit_;
    const std::vector<DistrictSla>& districts_;
    int default_ack_;
    int default_arrival_;
    std::vector<std::optional<std::string>> params_;
};

// "{0.5,1.25,2,3}" (a float8[] as text) -> its numbers; NULL -> nothing.
std::vector<double> float_array(const Rows& rows, int row, Rows::Column col) {
    std::vector<double> out;
    if (rows.is_null(row, col)) return out;
    const std::string text = rows.text(row, col);
    std::size_t at = 1;  // after '{'
    while (at < text.size() && text[at] != '}') {
        std::size_t used = 0;
        out.push_back(std::stod(text.substr(at), &used));
        at += used;
        if (at < text.size() && text[at] == ',') ++at;
    }
    return out;
}

}  // namespace

asio::awaitable<DbResult<std::vector<DistrictSla>>> district_slas(ReadDb& db,
                                                                  const SlaConfig& defaults) {
    const std::string sql = "SELECT id, name, sla_ack_s, sla_arrival_s FROM districts ORDER BY id";
    const std::vector<std::optional<std::string>> no_params;
    auto outcome = co_await db.read(sql, no_params);
    DbResult<std::vector<DistrictSla>> out;
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    const auto id = rows.column("id"), name = rows.column("name"), ack = rows.column("sla_ack_s"),
               arrival = rows.column("sla_arrival_s");
    for (int i = 0; i < rows.size(); ++i) {
        out.value.push_back(
            {rows.text(i, id), rows.text(i, name),
             static_cast<int>(rows.optional_int64(i, ack).value_or(defaults.ack_s)),
             static_cast<int>(rows.optional_int64(i, arrival).value_or(defaults.arrival_s))});
    }
    co_return out;
}

asio::awaitable<DbResult<std::vector<ResponseTimeGroup>>> response_time_groups(
    ReadDb& db, const ResponseTimeQuery& query, const std::vector<DistrictSla>& districts,
    const SlaConfig& defaults) {
    DbResult<std::vector<ResponseTimeGroup>> out;
    ReportSql builder(query, districts, defaults);
    const std::string sql = builder.build();
    if (sql.empty()) co_return out;
    // Settings for this transaction only: JIT compilation would cost more
    // than it saves; the per-group sorts of the percentiles stay in memory.
    std::vector<PgQuery> queries;
    queries.push_back(
        {"SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true),"
         " set_config('statement_timeout', '120s', true)",
         {},
         false});
    queries.push_back({sql, builder.params(), false});
    auto outcome = co_await db.read_transaction(queries);
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.back());
    const auto key = rows.column("group_key"), name = rows.column("name"),
               school_district = rows.column("school_district"), n = rows.column("n"),
               reached = rows.column("reached"), ack_ok = rows.column("ack_ok"),
               arrival_ok = rows.column("arrival_ok");
    std::array<Rows::Column, 3> measures{rows.column(kMeasures[0]), rows.column(kMeasures[1]),
                                         rows.column(kMeasures[2])};
    for (int i = 0; i < rows.size(); ++i) {
        ResponseTimeGroup g;
        g.key = rows.optional_text(i, key);
        g.name = rows.text(i, name);
        g.school_district = rows.text(i, school_district);
        g.count = rows.int64(i, n);
        g.reached = rows.int64(i, reached);
        for (std::size_t m = 0; m < measures.size(); ++m) {
            g.measures[m] = float_array(rows, i, measures[m]);
        }
        g.within_ack_sla = rows.int64(i, ack_ok);
        g.within_arrival_sla = rows.int64(i, arrival_ok);
        out.value.push_back(std::move(g));
    }
    // Branches come back in any order: by key, the unassigned (null) last.
    std::stable_sort(out.value.begin(), out.value.end(), [](const auto& a, const auto& b) {
        if (!a.key || !b.key) return a.key.has_value() && !b.key.has_value();
        return *a.key < *b.key;
    });
    co_return out;
}

}  // namespace huxiao::db
