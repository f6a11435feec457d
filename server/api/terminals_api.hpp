// GET /api/v1/terminals (contract §5): each school alarm terminal with
// whether it is online now, when it was last seen, and its availability over
// a range — so an inspector can list the schools whose alarm button was not
// connected last month.
#pragma once

namespace huxiao {
class ApiRouter;
namespace db {
class ReadDb;
}
namespace api {
void add_terminal_routes(ApiRouter& router, db::ReadDb& db);
}
}  // namespace huxiao
