// Registry management and API tokens for administrators (contract §5):
// POST/PUT/DELETE /api/v1/{schools,terminals,units,guard-posts}, and
// GET/POST/DELETE /api/v1/tokens. Bodies are validated exactly like an import
// file (errors name the record and field); after a change the running server
// swaps in a fresh registry snapshot. POST /api/v1/admin/reload (an
// extension) reloads the configuration file as SIGHUP does.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

namespace huxiao {
class ApiRouter;
struct ReloadOutcome;
class TokenAuthenticator;
namespace db {
class ReadDb;
}
namespace api {
void add_admin_routes(ApiRouter& router, db::ReadDb& db, TokenAuthenticator& auth,
                      std::function<void()> registry_changed);
// 200 {"reloaded": [what was applied], "restart_required": [sections]}, or
// 422 `invalid_config` naming the key and file; the old settings then stay.
void add_reload_route(ApiRouter& router,
                      std::function<boost::asio::awaitable<ReloadOutcome>(std::string why)> reload);
}  // namespace api
}  // namespace huxiao
