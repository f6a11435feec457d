// GET /api/v1/reports/response-times and .csv (contract §5, §6): per group
// (district, school, unit or kind) over a time range, the count of incidents,
// how many were never reached, exact percentiles of dispatch_s, ack_s and
// arrival_s, and the share within the SLA (per-district override, else the
// configured default). Computed by PostgreSQL in one query; docs/reports.md.
#pragma once

namespace huxiao {
class ApiRouter;
struct Config;
namespace db {
class ReadDb;
}
namespace api {
void add_report_routes(ApiRouter& router, db::ReadDb& db, const Config& config);
}
}  // namespace huxiao
