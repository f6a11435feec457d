#include "server/db/recovery.hpp"

#include <map>

#include "server/db/pg_connection.hpp"

namespace huxiao::db {

RecoveredState load_open_incidents(PgSync& db) {
    RecoveredState state;
    auto newest = db.exec(
        "SELECT coalesce(max((extract(epoch FROM received_at) * 1000000)::bigint), 0) FROM incidents");
    state.newest_incident_at = std::stoll(cell(newest.get(), 0, 0));

    auto r = db.exec(
        "SELECT i.id, i.school_id, i.drill, (extract(epoch FROM i.last_alarm_at) * 1000000)::bigint,"
        "       te.terminal_id, te.event_id"
        "  FROM incidents i LEFT JOIN terminal_events te ON te.incident_id = i.id AND te.kind = 'alarm'"
        " WHERE i.closed_at IS NULL ORDER BY i.received_at, i.id");
    std::map<std::string, std::size_t> index;
    for (int row = 0; row < PQntuples(r.get()); ++row) {
        const std::string id = cell(r.get(), row, 0);
        auto [it, inserted] = index.emplace(id, state.open_incidents.size());
        if (inserted) {
            AlarmTriage::OpenIncident incident;
            incident.incident = id;
            incident.school = cell(r.get(), row, 1);
            incident.drill = cell(r.get(), row, 2) == "t";
            incident.last_alarm_at = std::stoll(cell(r.get(), row, 3));
            state.open_incidents.push_back(std::move(incident));
        }
        if (!PQgetisnull(r.get(), row, 4)) {
            state.open_incidents[it->second].alarms.emplace_back(cell(r.get(), row, 4),
                                                                 cell(r.get(), row, 5));
        }
    }
    return state;
}

}  // namespace huxiao::db
