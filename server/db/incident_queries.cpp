#include "server/db/incident_queries.hpp"

#include "server/db/read_db.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

// Columns shared by the list and the detail.
constexpr const char* kIncidentColumns =
    "i.id, i.school_id, i.district_id, i.kind, i.drill, i.state,"
    " to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    " AS received_at,"
    " (extract(epoch FROM i.received_at) * 1000000)::bigint AS received_us,"
    " coalesce((SELECT json_agg(DISTINCT e.unit_id) FROM incident_events e"
    "            WHERE e.incident_id = i.id AND e.type = 'unit_accepted'), '[]') AS units,"
    " s.name AS school_name,"
    " extract(epoch FROM i.first_offer_at - i.received_at) AS dispatch_s,"
    " extract(epoch FROM i.first_accept_at - i.received_at) AS ack_s,"
    " extract(epoch FROM i.first_arrival_at - i.received_at) AS arrival_s,"
    " to_char(i.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS closed_at";

constexpr const char* kTimelineSql =
    "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, type, actor,"
    " unit_id, details::text AS details FROM incident_events WHERE incident_id = $1"
    " ORDER BY at, seq";

std::vector<IncidentRow> incident_rows(const Rows& rows, int limit) {
    const auto id = rows.column("id"), school = rows.column("school_id"),
               school_name = rows.column("school_name"), district = rows.column("district_id"),
               kind = rows.column("kind"), drill = rows.column("drill"),
               state = rows.column("state"), received_at = rows.column("received_at"),
               received_us = rows.column("received_us"), units = rows.column("units"),
               dispatch_s = rows.column("dispatch_s"), ack_s = rows.column("ack_s"),
               arrival_s = rows.column("arrival_s"), closed_at = rows.column("closed_at");
    std::vector<IncidentRow> out;
    for (int i = 0; i < std::min(rows.size(), limit); ++i) {
        out.push_back({rows.text(i, id), rows.text(i, school), rows.text(i, school_name),
                       rows.text(i, district), rows.text(i, kind), rows.boolean(i, drill),
                       rows.text(i, state), rows.text(i, received_at), rows.int64(i, received_us),
                       rows.json(i, units), rows.optional_number(i, dispatch_s),
                       rows.optional_number(i, ack_s), rows.optional_number(i, arrival_s),
                       rows.optional_text(i, closed_at)});
    }
    return out;
}

}  // namespace

asio::awaitable<DbResult<IncidentPage>> list_incidents(ReadDb& db, const IncidentFilter& filter) {
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
    if (filter.from) add("i.received_at >= ?::timestamptz", format_iso_micros(*filter.from));
    if (filter.to) add("i.received_at < ?::timestamptz", format_iso_micros(*filter.to));
    if (filter.district) add("i.district_id = ?", *filter.district);
    if (filter.school) add("i.school_id = ?", *filter.school);
    if (filter.kind) add("i.kind = ?", *filter.kind);
    if (filter.status) {
        if (*filter.status == "open") {
            sql += " AND i.closed_at IS NULL";
        } else if (*filter.status == "closed") {
            sql += " AND i.closed_at IS NOT NULL";
        } else {
            add("i.state = ?", *filter.status);
        }
    }
    if (filter.drill) add("i.drill = ?::boolean", *filter.drill ? "true" : "false");
    if (filter.visible_districts) {
        add(district_in("i.district_id", "?"), *filter.visible_districts);
    }
    if (filter.after) {
        params.push_back(std::to_string(filter.after->received_us));
        params.push_back(filter.after->id);
        sql += " AND ((extract(epoch FROM i.received_at) * 1000000)::bigint, i.id) < ($" +
               std::to_string(params.size() - 1) + "::bigint, $" + std::to_string(params.size()) +
               ")";
    }
    sql += " ORDER BY i.received_at DESC, i.id DESC LIMIT " + std::to_string(filter.limit + 1);

    DbResult<IncidentPage> out;
    auto outcome = co_await db.read(sql, params);
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows rows(outcome.results.at(0));
    out.value.items = incident_rows(rows, filter.limit);
    out.value.more = rows.size() > filter.limit;
    co_return out;
}

asio::awaitable<DbResult<std::optional<IncidentDetail>>> incident_detail(
    ReadDb& db, const std::string& id, const std::optional<std::string>& visible_districts) {
    std::vector<PgQuery> queries;
    std::string sql = std::string("SELECT ") + kIncidentColumns +
                      " FROM incidents i JOIN schools s ON s.id = i.school_id WHERE i.id = $1";
    std::vector<std::optional<std::string>> params{id};
    if (visible_districts) {
        sql += " AND " + district_in("i.district_id", "$2");
        params.push_back(*visible_districts);
    }
    queries.push_back({sql, params, false});
    queries.push_back({kTimelineSql, {id}, false});
    DbResult<std::optional<IncidentDetail>> out;
    auto outcome = co_await db.transaction(std::move(queries));
    if (outcome.failure) {
        out.failure = std::move(outcome.failure);
        co_return out;
    }
    const Rows found(outcome.results.at(0));
    if (found.empty()) co_return out;
    IncidentDetail detail{incident_rows(found, 1).at(0), {}};
    const Rows t(outcome.results.at(1));
    const auto at = t.column("at"), type = t.column("type"), actor = t.column("actor"),
               unit = t.column("unit_id"), details = t.column("details");
    for (int i = 0; i < t.size(); ++i) {
        detail.timeline.push_back({t.text(i, at), t.text(i, type), t.text(i, actor),
                                   t.optional_text(i, unit), t.json(i, details)});
    }
    out.value = std::move(detail);
    co_return out;
}

}  // namespace huxiao::db
