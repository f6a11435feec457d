// GET /api/v1/incidents and /api/v1/incidents/{id} (contract §5): incidents
// with filters and cursor paging, and one incident with its full timeline.
#pragma once

namespace huxiao {
class ApiRouter;
namespace db {
class ReadDb;
}
namespace api {
void add_incident_routes(ApiRouter& router, db::ReadDb& db);
}
}  // namespace huxiao
