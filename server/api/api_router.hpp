// ApiRouter: HTTP requests of contract §5 in, responses out. Knows nothing
// of sockets (HttpSession reads and writes); authenticates the bearer token,
// checks the role, validates parameters (400 names the parameter), applies the
// per-token rate limit (429) and answers from PostgreSQL. `GET` outside /api/
// is answered from the web console compiled into the binary, never the disk;
// GET /api/v1/openapi.json from the OpenAPI document compiled in likewise.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/protocol/request_target.hpp"
#include "common/util/token_bucket.hpp"
#include "server/app/auth.hpp"

namespace huxiao {

namespace db {
class ReadDb;
struct PgFailure;
}  // namespace db
struct Metrics;

struct ApiContext {
    const Config& config;
    db::ReadDb& db;
    TokenAuthenticator& auth;
    Metrics& metrics;
    std::function<bool()> ready;  // database reachable and listeners up
    // Contract §8: while this server is a standby, its /readyz body (status
    // "standby" and the leader's addresses); nothing on a leader or a single
    // server. A standby serves GET only: other methods are 503.
    std::function<std::optional<nlohmann::json>()> standby;
    double rate_per_s = 20;  // per token, burst twice that
};

class ApiRouter {
  public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    explicit ApiRouter(ApiContext ctx);
    ~ApiRouter();

    // Where a request comes from, as far as the router cares.
    struct Client {
        bool loopback = false;  // 127.0.0.0/8 or ::1: may read /metrics by default
    };

    // `req` and `client` must outlive the await.
    boost::asio::awaitable<Response> handle(Request& req, const Client& client);

    static Response error(boost::beast::http::status status, const std::string& code,
                          const std::string& message, unsigned version, bool keep_alive);
    static Response json(boost::beast::http::status status, const nlohmann::json& body,
                         unsigned version, bool keep_alive);

    // Extension point for handlers added by later modules (reports, admin):
    // (method, path prefix) -> handler. The handler runs after authentication.
    struct Call {
        const Request& req;
        const Principal& who;
        std::string path;                          // without the query
        std::map<std::string, std::string> query;  // decoded parameters
    };
    using Handler = std::function<boost::asio::awaitable<Response>(const Call&)>;

    // The one answer to a failed database query: the details go to the log
    // under a new request id; the client gets 503 with only that id.
    static Response database_error(const Call& call, const db::PgFailure& failure);
    void add(const std::string& method, const std::string& path_prefix,
             std::initializer_list<const char*> roles, Handler handler);

    // What the router serves, for the test that holds it against the OpenAPI
    // document (docs/api/openapi.json): the registered routes, the route that
    // answers (method, path) as dispatch() chooses it, and the paths answered
    // before any route and without a token.
    struct RouteInfo {
        std::string method;
        std::string prefix;  // a path, or a prefix of paths when it ends in '/'
        std::vector<std::string> roles;
    };
    std::vector<RouteInfo> routes() const;
    std::optional<RouteInfo> route_for(const std::string& method, const std::string& path) const;
    static const std::vector<std::string>& unauthenticated_paths();

  private:
    struct Route;
    const Route* find_route(const std::string& method, const std::string& path) const;
    boost::asio::awaitable<Response> dispatch(Request& req, const Client& client);
    boost::asio::awaitable<std::optional<Response>> refuse_metrics(const Request& req,
                                                                   const Client& client);
    static Response serve_console(const Request& req);
    // Parts of dispatch(), in the order a request meets them.
    Response readiness(const std::optional<nlohmann::json>& standby, unsigned v, bool ka) const;
    Response metrics_page(unsigned v, bool ka) const;
    static Response openapi_page(unsigned v, bool ka);
    Response no_route(const Request& req, const std::string& path) const;
    std::optional<Response> refuse_caller(const Route& route, const Principal& who,
                                          const std::string& path, unsigned v, bool ka);
    bool rate_ok(const std::string& who);

    ApiContext ctx_;
    std::vector<Route> routes_;
    std::mutex rate_mutex_;
    std::map<std::string, TokenBucket> rate_;
};

// Thrown by parameter parsing inside handlers; turned into 400 naming it.
struct BadParameter {
    std::string name;
    std::string message;
};

}  // namespace huxiao
