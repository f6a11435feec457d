// The OpenAPI document of the HTTP API (issue #16 item 3): huxiaod serves
// docs/api/openapi.json byte for byte on GET /api/v1/openapi.json without a
// token, and the document and the router agree: every documented API
// operation is answered by a route with the documented roles, and every
// route is documented. (tests/web/test/api.test.mjs validates the answers of
// a real server against the document.)
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "server/api/api_router.hpp"
#include "server/api/api_routes.hpp"
#include "server/app/auth.hpp"
#include "server/base/metrics.hpp"
#include "server/db/read_db.hpp"
#include "server/wiring/config_reloader.hpp"
#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

std::string document_file() {
    std::ifstream in(std::string(HUXIAO_SOURCE_DIR) + "/docs/api/openapi.json", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class OpenApiServed : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
    }
};

TEST_F(OpenApiServed, TheRepositoryFileIsServedAsItIsWithoutAToken) {
    const std::string expected = document_file();
    ASSERT_FALSE(expected.empty());
    const auto r = get("/api/v1/openapi.json", "");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("Content-Type"), "application/json");
    EXPECT_TRUE(r.body == expected) << "the served document differs from docs/api/openapi.json ("
                                    << r.body.size() << " and " << expected.size() << " bytes)";
    const json doc = r.json();
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc.value("openapi", "").rfind("3.1.", 0), 0u) << doc.value("openapi", "");
    // A token changes nothing; a query string neither.
    const std::string token = make_token("auditor", "reader");
    const auto with_token = get("/api/v1/openapi.json?x=1", token);
    EXPECT_EQ(with_token.status, 200);
    EXPECT_TRUE(with_token.body == expected);
}

// The paths answered without a token have GET only, as documented.
TEST_F(OpenApiServed, OtherMethodsOnThePathsWithoutATokenAre405) {
    for (const auto& path : ApiRouter::unauthenticated_paths()) {
        for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
            const auto r = https_request(api_port(), certs_->server_ca(), method, path, "", "{}");
            EXPECT_EQ(r.status, 405) << method << " " << path;
            EXPECT_EQ(r.json()["error"], "method_not_allowed") << method << " " << path;
        }
    }
}

// A concrete path for a documented one: each {parameter} becomes "x".
std::string concrete(const std::string& documented) {
    static const std::regex parameter("\\{[^}]*\\}");
    return std::regex_replace(documented, parameter, "x");
}

std::set<std::string> strings(const json& array) {
    std::set<std::string> out;
    if (array.is_array()) {
        for (const auto& s : array) out.insert(s.get<std::string>());
    }
    return out;
}

std::string joined(const std::set<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

TEST(OpenApiDocument, DocumentsEveryRouteOfTheRouterWithItsRoles) {
    const json doc = json::parse(document_file(), nullptr, false);
    ASSERT_TRUE(doc.is_object() && doc.contains("paths")) << "docs/api/openapi.json";

    // The router exactly as the server builds it (no database is asked).
    boost::asio::io_context io;
    Config config;
    config.database.url = "postgresql://nobody@127.0.0.1:1/none";
    db::ReadDb read_db(io.get_executor(), config.database, 1);
    TokenAuthenticator auth(read_db);
    Metrics metrics;
    ApiRouter router(ApiContext{config, read_db, auth, metrics, [] { return true; }, {}});
    api::add_api_routes(
        router, read_db, auth, config, [] {},
        [](std::string) {
            return []() -> boost::asio::awaitable<ReloadOutcome> { co_return ReloadOutcome{}; }();
        });

    const std::set<std::string> methods = {"get", "put", "post", "delete", "patch"};
    const auto& open_paths = ApiRouter::unauthenticated_paths();
    std::map<std::string, std::set<std::string>> documented_roles;  // per route
    for (const auto& [path, item] : doc["paths"].items()) {
        for (const auto& [method, operation] : item.items()) {
            if (!methods.count(method)) continue;
            std::string upper = method;
            for (char& c : upper) c = static_cast<char>(std::toupper(c));
            const std::string what = upper + " " + path;
            const bool open =
                std::find(open_paths.begin(), open_paths.end(), path) != open_paths.end();
            if (open || path.rfind("/api/", 0) != 0) {
                // Answered before any route (or the console, or a WebSocket):
                // no token asked for.
                EXPECT_TRUE(operation.contains("security") && operation["security"].empty())
                    << what << " needs no token: document \"security\": []";
                EXPECT_FALSE(router.route_for(upper, path)) << what;
                continue;
            }
            const auto route = router.route_for(upper, concrete(path));
            if (!route) {
                ADD_FAILURE() << what << " is documented but no route answers it";
                continue;
            }
            const std::set<std::string> roles = strings(operation["x-huxiao-roles"]);
            const std::set<std::string> allowed(route->roles.begin(), route->roles.end());
            EXPECT_FALSE(roles.empty()) << what << " documents no x-huxiao-roles";
            for (const auto& role : roles) {
                EXPECT_TRUE(allowed.count(role))
                    << what << ": role " << role << " is documented, the router refuses it";
            }
            EXPECT_FALSE(operation.contains("security") && operation["security"].empty())
                << what << " needs a token";
            documented_roles[route->method + " " + route->prefix].insert(roles.begin(),
                                                                         roles.end());
        }
    }
    for (const auto& path : open_paths) {
        EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains("get"))
            << "GET " << path << " is not documented";
    }
    for (const auto& route : router.routes()) {
        const std::string key = route.method + " " + route.prefix;
        const auto found = documented_roles.find(key);
        if (found == documented_roles.end()) {
            ADD_FAILURE() << "the route " << key << " is not documented";
            continue;
        }
        const std::set<std::string> allowed(route.roles.begin(), route.roles.end());
        EXPECT_EQ(joined(found->second), joined(allowed))
            << "roles documented for " << key << " differ from the router's";
    }
}

}  // namespace
}  // namespace huxiao::test
