// Every endpoint of the HTTP API on one router: contract §5 and §10 (incidents,
// reports, terminals, guard posts, inspections, hazards, school safety) and
// the administrators' registry, token management and configuration reload. The server and the test
// that compares the router with docs/api/openapi.json register the same set.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

namespace huxiao {
class ApiRouter;
class TokenAuthenticator;
struct Config;
struct ReloadOutcome;
namespace db {
class ReadDb;
}
namespace api {
// `registry_changed` is called after an admin write to the registry;
// `reload` carries out POST /api/v1/admin/reload.
void add_api_routes(ApiRouter& router, db::ReadDb& db, TokenAuthenticator& auth,
                    const Config& config, std::function<void()> registry_changed,
                    std::function<boost::asio::awaitable<ReloadOutcome>(std::string why)> reload);
}  // namespace api
}  // namespace huxiao
