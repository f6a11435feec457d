// What a restarting server reads back before it opens its listeners: the
// incidents still open, each with each terminal's latest alarm id (and which
// terminals have older ones) and the timeline rows replay uses, from which
// the dispatch state (offers, assignments, timers) is rebuilt.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/dispatch/replay.hpp"
#include "common/intake/alarm_triage.hpp"
#include "common/util/time.hpp"

namespace huxiao {

// An open incident as read back at start-up (Dispatcher::restore takes them).
struct RecoveredIncident {
    dispatch::IncidentHeader header;
    std::vector<dispatch::TimelineRecord> timeline;
    AlarmTriage::OpenIncident triage;                      // each terminal's latest alarm id
    std::vector<std::string> terminals_with_older_alarms;  // in the incident, not read back
};

}  // namespace huxiao

namespace huxiao::db {

class PgSync;

struct RecoveredState {
    std::vector<RecoveredIncident> open_incidents;
    UnixMicros newest_incident_at = 0;  // seeds the incident id generator
};

RecoveredState load_open_incidents(PgSync& db);

// dispatch::kTypesReplayPassesOver as SQL literals ('alarm_received', ...):
// the list that sql/014's partial index incident_events_replayed_idx leaves out.
std::string replay_passes_over_sql();

// Terminals whose last recorded transition is `online`, with their last sign of life.
std::vector<std::pair<std::string, UnixMicros>> load_online_terminals(PgSync& db);

}  // namespace huxiao::db
