// Registry management and API tokens for administrators (contract §5):
// POST/PUT/DELETE /api/v1/{schools,terminals,units,guard-posts}, and
// GET/POST/DELETE /api/v1/tokens. Bodies are validated exactly like an import
// file (errors name the record and field); after a change the running server
// swaps in a fresh registry snapshot.
#pragma once

#include <functional>

namespace huxiao {
class ApiRouter;
class TokenAuthenticator;
namespace db {
class ReadDb;
}
namespace api {
void add_admin_routes(ApiRouter& router, db::ReadDb& db, TokenAuthenticator& auth,
                      std::function<void()> registry_changed);
}
}  // namespace huxiao
