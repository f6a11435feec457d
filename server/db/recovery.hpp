// What a restarting server reads back before it opens its listeners: the
// incidents still open, each with each terminal's latest alarm id (and which
// terminals have older ones) and the timeline rows replay uses, from which
// the dispatch state (offers, assignments, timers) is rebuilt.
#pragma once

#include <vector>

#include "server/app/dispatcher.hpp"

namespace huxiao::db {

class PgSync;

struct RecoveredState {
    std::vector<RecoveredIncident> open_incidents;
    UnixMicros newest_incident_at = 0;  // seeds the incident id generator
};

RecoveredState load_open_incidents(PgSync& db);

// Terminals whose last recorded transition is `online`, with their last sign of life.
std::vector<std::pair<std::string, UnixMicros>> load_online_terminals(PgSync& db);

}  // namespace huxiao::db
