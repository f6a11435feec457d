#include "server/db/recovery.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "common/dispatch/replay.hpp"
#include "server/db/pg_connection.hpp"

namespace huxiao::db {

RecoveredState load_open_incidents(PgSync& db) {
    RecoveredState state;
    auto newest = db.exec(
        "SELECT coalesce(max((extract(epoch FROM received_at) * 1000000)::bigint), 0) FROM "
        "incidents");
    state.newest_incident_at = std::stoll(cell(newest.get(), 0, 0));

    std::map<std::string, std::size_t> index;
    auto r = db.exec(
        "SELECT id, school_id, kind, drill, (extract(epoch FROM received_at) * 1000000)::bigint,"
        "       (extract(epoch FROM last_alarm_at) * 1000000)::bigint"
        "  FROM incidents WHERE closed_at IS NULL ORDER BY received_at, id");
    for (int row = 0; row < PQntuples(r.get()); ++row) {
        RecoveredIncident incident;
        incident.header.id = cell(r.get(), row, 0);
        incident.header.school = cell(r.get(), row, 1);
        incident.header.kind = cell(r.get(), row, 2);
        incident.header.drill = cell(r.get(), row, 3) == "t";
        incident.header.received_at = from_unix_micros(std::stoll(cell(r.get(), row, 4)));
        incident.triage.incident = incident.header.id;
        incident.triage.school = incident.header.school;
        incident.triage.drill = incident.header.drill;
        incident.triage.last_alarm_at = std::stoll(cell(r.get(), row, 5));
        index[incident.header.id] = state.open_incidents.size();
        state.open_incidents.push_back(std::move(incident));
    }
    if (state.open_incidents.empty()) return state;

    // Only each terminal's latest alarm of each open incident: that is what
    // a cancel without an alarm id needs (AlarmTriage::latest_open_alarm),
    // and it is the alarm a terminal most likely retransmits. The count says
    // whether the terminal has older ones; its unknown alarm ids are then
    // checked against the database before anyone acts on them (Unverified).
    // Reading every repeat alarm made a restart with 10,000 open incidents
    // slow (docs/performance.md, "Restart").
    auto alarms = db.exec(
        "SELECT incident_id, terminal_id, event_id, alarms,"
        "       (extract(epoch FROM received_at) * 1000000)::bigint FROM ("
        "  SELECT DISTINCT ON (te.incident_id, te.terminal_id) te.incident_id, te.terminal_id,"
        "         te.event_id, te.received_at,"
        "         count(*) OVER (PARTITION BY te.incident_id, te.terminal_id) AS alarms"
        "    FROM terminal_events te JOIN incidents i ON i.id = te.incident_id"
        "   WHERE i.closed_at IS NULL AND te.kind = 'alarm'"
        "   ORDER BY te.incident_id, te.terminal_id, te.received_at DESC, te.event_id DESC) latest"
        " ORDER BY received_at, event_id");  // latest last: AlarmTriage::restore
    for (int row = 0; row < PQntuples(alarms.get()); ++row) {
        auto it = index.find(cell(alarms.get(), row, 0));
        if (it == index.end()) continue;
        RecoveredIncident& incident = state.open_incidents[it->second];
        incident.triage.alarms.emplace_back(cell(alarms.get(), row, 1), cell(alarms.get(), row, 2));
        // The incident's latest alarm (incidents.last_alarm_at keeps its
        // first since sql/013: repeat alarms do not update the incident).
        incident.triage.last_alarm_at = std::max<UnixMicros>(
            incident.triage.last_alarm_at, std::stoll(cell(alarms.get(), row, 4)));
        if (cell(alarms.get(), row, 3) != "1") {
            incident.terminals_with_older_alarms.push_back(cell(alarms.get(), row, 1));
        }
    }
    // The timeline in append order: replay applies the events as they
    // happened. Without the types replay passes over: an incident's repeat
    // alarms are most of its rows, and each would be parsed as JSON for nothing.
    std::string passed_over = "{";
    for (std::string_view type : dispatch::kTypesReplayPassesOver) {
        if (passed_over.size() > 1) passed_over += ',';
        passed_over += type;
    }
    passed_over += '}';
    auto events = db.exec(
        "SELECT e.incident_id, (extract(epoch FROM e.at) * 1000000)::bigint, e.type, e.actor,"
        "       coalesce(e.unit_id, ''), e.details::text"
        "  FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
        " WHERE i.closed_at IS NULL AND e.type <> ALL ($1::text[])"
        " ORDER BY e.seq",
        {passed_over});
    for (int row = 0; row < PQntuples(events.get()); ++row) {
        auto it = index.find(cell(events.get(), row, 0));
        if (it == index.end()) continue;
        dispatch::TimelineRecord record;
        record.at = from_unix_micros(std::stoll(cell(events.get(), row, 1)));
        record.type = cell(events.get(), row, 2);
        record.actor = cell(events.get(), row, 3);
        record.unit = cell(events.get(), row, 4);
        record.details = nlohmann::json::parse(cell(events.get(), row, 5), nullptr, false);
        if (record.details.is_discarded()) record.details = nlohmann::json::object();
        state.open_incidents[it->second].timeline.push_back(std::move(record));
    }
    return state;
}

std::vector<std::pair<std::string, UnixMicros>> load_online_terminals(PgSync& db) {
    auto r = db.exec(
        "SELECT l.terminal_id, (extract(epoch FROM coalesce(t.last_seen_at, l.at)) * "
        "1000000)::bigint"
        "  FROM (SELECT DISTINCT ON (terminal_id) terminal_id, online, at FROM "
        "terminal_status_events"
        "         ORDER BY terminal_id, seq DESC) l JOIN terminals t ON t.id = l.terminal_id"
        " WHERE l.online");
    std::vector<std::pair<std::string, UnixMicros>> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        out.emplace_back(cell(r.get(), i, 0), std::stoll(cell(r.get(), i, 1)));
    }
    return out;
}

}  // namespace huxiao::db
