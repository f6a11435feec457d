// Hazards (contract §10): GET /api/v1/hazards (and /{id}) with their history,
// POST /api/v1/hazards/{id}/rectify (education, inspector) and
// /api/v1/hazards/{id}/verify (inspector). Each change is appended to the
// hazard's history; the life cycle is common/inspection/hazard_lifecycle.
#pragma once

namespace huxiao {
class ApiRouter;
namespace db {
class ReadDb;
}
namespace api {
void add_hazard_routes(ApiRouter& router, db::ReadDb& db);
}
}  // namespace huxiao
