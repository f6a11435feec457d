// Inspections (督导检查, contract §10): POST /api/v1/inspections records one
// (inspector), with the auto checklist items computed from live data at the
// time of recording; GET /api/v1/inspections and /api/v1/inspections/{id}
// read them with their items and hazards. Education tokens see their
// districts only. Rules in docs/inspections.md.
#pragma once

namespace huxiao {
class ApiRouter;
struct Config;
namespace db {
class ReadDb;
}
namespace api {
void add_inspection_routes(ApiRouter& router, db::ReadDb& db, const Config& config);
}
}  // namespace huxiao
