// What a restarting server reads back before it opens its listeners: the
// incidents still open, with the alarm ids that belong to them.
#pragma once

#include <vector>

#include "common/intake/alarm_triage.hpp"

namespace huxiao::db {

class PgSync;

struct RecoveredState {
    std::vector<AlarmTriage::OpenIncident> open_incidents;
    UnixMicros newest_incident_at = 0;  // seeds the incident id generator
};

RecoveredState load_open_incidents(PgSync& db);

}  // namespace huxiao::db
