// GET /api/v1/reports/guard-posts and .csv (issue 5 item 3, contract §5 and
// §7 guard_posts): guard-post (护学岗) compliance per post and local day —
// scheduled minutes, minutes the unit was within `radius_m` of the school,
// their share, and the windows missed. Posts and the unit positions recorded
// in `unit_positions` are loaded with SQL; the figures come from the pure
// supervision::guard_post_compliance (rule in docs/guard-posts.md).
#pragma once

namespace huxiao {
class ApiRouter;
struct Config;
namespace db {
class ReadDb;
}
namespace api {
void add_guard_post_routes(ApiRouter& router, db::ReadDb& db, const Config& config);
}
}  // namespace huxiao
