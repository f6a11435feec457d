#include "server/db/recovery.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "common/dispatch/replay.hpp"
#include "server/db/pg_connection.hpp"

namespace huxiao::db {

std::string replay_passes_over_sql() {
    std::string list;
    for (std::string_view type : dispatch::kTypesReplayPassesOver) {
        if (!list.empty()) list += ", ";
        list += '\'';
        list += type;  // compile-time constants of plain letters and '_'
        list += '\'';
    }
    return list;
}

namespace {

// Open incidents by id: where each is in RecoveredState::open_incidents.
using IncidentIndex = std::map<std::string, std::size_t>;

void read_open_incidents(PgSync& db, RecoveredState& state, IncidentIndex& index) {
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
}

void read_latest_alarms(PgSync& db, RecoveredState& state, const IncidentIndex& index) {
    // Only each terminal's latest alarm of each open incident: that is what
    // a cancel without an alarm id needs (AlarmTriage::latest_open_alarm),
    // and it is the alarm a terminal most likely retransmits. Whether the
    // terminal has older ones decides whether its unknown alarm ids are
    // checked against the database before anyone acts on them (Unverified).
    // Reading every repeat alarm made a restart with 10,000 open incidents
    // slow (docs/performance.md, "Restart"), and even sorting them made a
    // takeover grow with the alarms piled onto the open incidents
    // (docs/availability.md §7): the distinct terminals of each incident are
    // walked on terminal_events_incident_idx (sql/014), and each reads its
    // newest two alarms.
    auto alarms = db.exec(
        "WITH RECURSIVE pairs (incident_id, terminal_id) AS ("
        "  SELECT i.id, (SELECT te.terminal_id FROM terminal_events te"
        "                 WHERE te.incident_id = i.id ORDER BY te.terminal_id LIMIT 1)"
        "    FROM incidents i WHERE i.closed_at IS NULL"
        "  UNION ALL"
        "  SELECT p.incident_id, (SELECT te.terminal_id FROM terminal_events te"
        "                          WHERE te.incident_id = p.incident_id"
        "                            AND te.terminal_id > p.terminal_id"
        "                          ORDER BY te.terminal_id LIMIT 1)"
        "    FROM pairs p WHERE p.terminal_id IS NOT NULL)"
        " SELECT p.incident_id, p.terminal_id, l.event_id,"
        "        EXISTS (SELECT 1 FROM terminal_events o"
        "                 WHERE o.incident_id = p.incident_id AND o.terminal_id = p.terminal_id"
        "                   AND o.kind = 'alarm'"
        "                   AND (o.received_at, o.event_id) < (l.received_at, l.event_id)),"
        "        (extract(epoch FROM l.received_at) * 1000000)::bigint"
        "   FROM pairs p CROSS JOIN LATERAL ("
        "        SELECT te.event_id, te.received_at FROM terminal_events te"
        "         WHERE te.incident_id = p.incident_id AND te.terminal_id = p.terminal_id"
        "           AND te.kind = 'alarm'"
        "         ORDER BY te.received_at DESC, te.event_id DESC LIMIT 1) l"
        "  WHERE p.terminal_id IS NOT NULL"
        "  ORDER BY l.received_at, l.event_id");  // latest last: AlarmTriage::restore
    for (int row = 0; row < PQntuples(alarms.get()); ++row) {
        auto it = index.find(cell(alarms.get(), row, 0));
        if (it == index.end()) continue;
        RecoveredIncident& incident = state.open_incidents[it->second];
        incident.triage.alarms.emplace_back(cell(alarms.get(), row, 1), cell(alarms.get(), row, 2));
        // The incident's latest alarm (incidents.last_alarm_at keeps its
        // first since sql/013: repeat alarms do not update the incident).
        incident.triage.last_alarm_at = std::max<UnixMicros>(
            incident.triage.last_alarm_at, std::stoll(cell(alarms.get(), row, 4)));
        if (cell(alarms.get(), row, 3) == "t") {
            incident.terminals_with_older_alarms.push_back(cell(alarms.get(), row, 1));
        }
    }
}

void read_timelines(PgSync& db, RecoveredState& state, const IncidentIndex& index) {
    // The timeline in append order: replay applies the events as they
    // happened. Without the types replay passes over: an incident's repeat
    // alarms are most of its rows. The condition is written out as in
    // sql/014's partial index incident_events_replayed_idx, so that the
    // planner uses it and never reads the repeat alarms at all (constants,
    // no input).
    auto events = db.exec(
        "SELECT e.incident_id, (extract(epoch FROM e.at) * 1000000)::bigint, e.type, e.actor,"
        "       coalesce(e.unit_id, ''), e.details::text"
        "  FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
        " WHERE i.closed_at IS NULL AND e.type NOT IN (" +
        replay_passes_over_sql() +
        ")"
        " ORDER BY e.seq");
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
}

}  // namespace

RecoveredState load_open_incidents(PgSync& db) {
    RecoveredState state;
    auto newest = db.exec(
        "SELECT coalesce(max((extract(epoch FROM received_at) * 1000000)::bigint), 0) FROM "
        "incidents");
    state.newest_incident_at = std::stoll(cell(newest.get(), 0, 0));

    IncidentIndex index;
    read_open_incidents(db, state, index);
    if (state.open_incidents.empty()) return state;
    read_latest_alarms(db, state, index);
    read_timelines(db, state, index);
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
