// GET /api/v1/reports/school-safety and .csv (contract §10): per school the
// latest result of each checklist code, open and overdue hazards, terminal
// availability, the last drill and its arrival time, guard-post compliance
// and a green/amber/red status (common/inspection/school_status), as of a
// chosen time.
#pragma once

namespace huxiao {
class ApiRouter;
struct Config;
namespace db {
class ReadDb;
}
namespace api {
void add_school_safety_routes(ApiRouter& router, db::ReadDb& db, const Config& config);
}
}  // namespace huxiao
