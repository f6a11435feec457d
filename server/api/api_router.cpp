#include "server/api/api_router.hpp"

#include <algorithm>
#include <atomic>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <nlohmann/json.hpp>

#include "server/api/console_files.hpp"
#include "server/api/openapi_document.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"
#include "server/base/metrics.hpp"
#include "server/db/pg_error.hpp"
#include "server/db/read_db.hpp"

namespace huxiao {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

struct ApiRouter::Route {
    std::string method;
    std::string prefix;
    std::vector<std::string> roles;
    Handler handler;
};

ApiRouter::ApiRouter(ApiContext ctx) : ctx_(std::move(ctx)) {}
ApiRouter::~ApiRouter() = default;

ApiRouter::Response ApiRouter::json(http::status status, const nlohmann::json& body,
                                    unsigned version, bool keep_alive) {
    Response res{status, version};
    res.set(http::field::server, "huxiaod");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    res.prepare_payload();
    return res;
}

ApiRouter::Response ApiRouter::error(http::status status, const std::string& code,
                                     const std::string& message, unsigned version,
                                     bool keep_alive) {
    return json(status, {{"error", code}, {"message", message}}, version, keep_alive);
}

void ApiRouter::add(const std::string& method, const std::string& path_prefix,
                    std::initializer_list<const char*> roles, Handler handler) {
    routes_.push_back(Route{method, path_prefix, {roles.begin(), roles.end()}, std::move(handler)});
}

namespace {
constexpr const char* kHealthz = "/healthz";
constexpr const char* kReadyz = "/readyz";
constexpr const char* kMetrics = "/metrics";
constexpr const char* kOpenApi = "/api/v1/openapi.json";

// " at host:port" when the standby knows the leader's API address.
std::string standby_leader_hint(const nlohmann::json& standby) {
    const auto leader = standby.find("leader");
    if (leader == standby.end() || !leader->is_object()) return {};
    const auto api = leader->find("api");
    if (api == leader->end() || !api->is_string()) return {};
    return " at " + api->get<std::string>();
}

bool matches(const std::string& prefix, const std::string& path) {
    return path == prefix || (path.rfind(prefix, 0) == 0 && prefix.back() == '/');
}
}  // namespace

const std::vector<std::string>& ApiRouter::unauthenticated_paths() {
    static const std::vector<std::string> paths{kHealthz, kReadyz, kMetrics, kOpenApi};
    return paths;
}

// The longest matching prefix wins (/api/v1/incidents/ over /api/v1/incidents).
const ApiRouter::Route* ApiRouter::find_route(const std::string& method,
                                              const std::string& path) const {
    const Route* route = nullptr;
    for (const auto& r : routes_) {
        if (r.method == method && matches(r.prefix, path)) {
            if (!route || r.prefix.size() > route->prefix.size()) route = &r;
        }
    }
    return route;
}

std::vector<ApiRouter::RouteInfo> ApiRouter::routes() const {
    std::vector<RouteInfo> out;
    for (const auto& r : routes_) out.push_back({r.method, r.prefix, r.roles});
    return out;
}

std::optional<ApiRouter::RouteInfo> ApiRouter::route_for(const std::string& method,
                                                         const std::string& path) const {
    const Route* r = find_route(method, path);
    if (!r) return std::nullopt;
    return RouteInfo{r->method, r->prefix, r->roles};
}

bool ApiRouter::rate_ok(const std::string& who) {
    std::lock_guard lock(rate_mutex_);
    auto it = rate_.find(who);
    if (it == rate_.end()) {
        it = rate_.emplace(who, TokenBucket(ctx_.rate_per_s, 2 * ctx_.rate_per_s)).first;
    }
    return it->second.take(system_now());
}

namespace {

// Sent with every response. The console loads only its own files (no inline
// script or style, no framing); images may come from a tile server the user
// configured, which is why img-src is wider than 'self'.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

void add_security_headers(ApiRouter::Response& res) {
    res.set("Content-Security-Policy", kContentSecurityPolicy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
}

// Request ids name a failure in the log without telling the client anything
// else: the process start time (base 36 µs) and a counter.
std::string next_request_id() {
    static const std::string prefix = [] {
        auto us = static_cast<unsigned long long>(system_now());
        std::string out;
        do {
            out.insert(out.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[us % 36]);
            us /= 36;
        } while (us);
        return "r-" + out + "-";
    }();
    static std::atomic<unsigned long long> counter{0};
    return prefix + std::to_string(++counter);
}

}  // namespace

ApiRouter::Response ApiRouter::database_error(const Call& call, const db::PgFailure& failure) {
    const Request& req = call.req;
    const std::string id = next_request_id();
    log_error("api", "request " + id + " " + std::string(req.method_string()) + " " + call.path +
                         " (" + call.who.name + "): database error" +
                         (failure.sqlstate.empty() ? "" : " [" + failure.sqlstate + "]") + ": " +
                         failure.message);
    auto res = json(http::status::service_unavailable,
                    {{"error", "unavailable"},
                     {"message", "the database could not answer; request id " + id},
                     {"request_id", id}},
                    req.version(), req.keep_alive());
    res.set(http::field::retry_after, "1");
    return res;
}

ApiRouter::Response ApiRouter::serve_console(const Request& req) {
    const api::ConsoleLookup found = api::find_console_file(req.target());
    if (found.outcome == api::ConsoleLookup::Outcome::malformed) {
        return error(http::status::bad_request, "bad_path", found.reason, req.version(),
                     req.keep_alive());
    }
    if (found.outcome == api::ConsoleLookup::Outcome::not_found) {
        return error(http::status::not_found, "not_found", "no such page", req.version(),
                     req.keep_alive());
    }
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, "huxiaod");
    res.set(http::field::content_type, found.file->content_type);
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(req.keep_alive());
    res.body().assign(found.file->bytes.data(), found.file->bytes.size());
    res.prepare_payload();
    return res;
}

// Contract 1.1: /metrics goes to loopback clients only, unless
// api_listener.metrics widens it to "public" or to any valid "token".
asio::awaitable<std::optional<ApiRouter::Response>> ApiRouter::refuse_metrics(
    const Request& req, const Client& client) {
    const std::string& access = ctx_.config.api_listener.metrics;
    if (access == "public") co_return std::nullopt;
    if (access == "token") {
        std::optional<std::string> token;
        if (auto it = req.find(http::field::authorization); it != req.end()) {
            token = bearer_token(std::string(it->value()));
        }
        if (!token) {
            co_return error(http::status::unauthorized, "unauthorized",
                            "/metrics needs Authorization: Bearer TOKEN", req.version(),
                            req.keep_alive());
        }
        const auto auth = co_await ctx_.auth.authenticate(*token);
        if (auth.who) co_return std::nullopt;
        if (auth.unavailable) {
            co_return error(http::status::service_unavailable, "unavailable",
                            "the database is unreachable; try again", req.version(),
                            req.keep_alive());
        }
        co_return error(http::status::unauthorized, "unauthorized", "unknown or revoked token",
                        req.version(), req.keep_alive());
    }
    if (client.loopback) co_return std::nullopt;
    co_return error(http::status::forbidden, "forbidden",
                    "/metrics is served to loopback clients only (api_listener.metrics)",
                    req.version(), req.keep_alive());
}

ApiRouter::Response ApiRouter::readiness(const std::optional<nlohmann::json>& standby, unsigned v,
                                         bool ka) const {
    if (standby) return json(http::status::service_unavailable, *standby, v, ka);
    if (ctx_.ready())
        return json(http::status::ok, {{"status", "ready"}, {"role", "leader"}}, v, ka);
    return json(http::status::service_unavailable,
                {{"status", "not_ready"}, {"database", ctx_.db.up()}}, v, ka);
}

ApiRouter::Response ApiRouter::metrics_page(unsigned v, bool ka) const {
    Response res{http::status::ok, v};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.keep_alive(ka);
    res.body() = ctx_.metrics.render();
    res.prepare_payload();
    return res;
}

// The API's own description: no token (it describes no data), the same
// bytes as docs/api/openapi.json. Connection limits apply as to any
// request without a token.
ApiRouter::Response ApiRouter::openapi_page(unsigned v, bool ka) {
    const std::string_view document = api::openapi_document();
    Response res{http::status::ok, v};
    res.set(http::field::server, "huxiaod");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(ka);
    res.body().assign(document.data(), document.size());
    res.prepare_payload();
    return res;
}

// No route for this method and path: the console's files (GET outside
// /api/), 405 when another method has one, else 404.
ApiRouter::Response ApiRouter::no_route(const Request& req, const std::string& path) const {
    const unsigned v = req.version();
    const bool ka = req.keep_alive();
    if (req.method() == http::verb::get && path.rfind("/api/", 0) != 0) return serve_console(req);
    bool other_method = false;
    for (const auto& r : routes_) other_method = other_method || matches(r.prefix, path);
    if (other_method) {
        return error(http::status::method_not_allowed, "method_not_allowed",
                     std::string(req.method_string()) + " is not allowed on " + path, v, ka);
    }
    return error(http::status::not_found, "not_found", "no endpoint " + path, v, ka);
}

// An authenticated caller over its token's rate (429), or whose role the
// route does not admit (403).
std::optional<ApiRouter::Response> ApiRouter::refuse_caller(const Route& route,
                                                            const Principal& who,
                                                            const std::string& path, unsigned v,
                                                            bool ka) {
    if (!rate_ok(who.name)) {
        auto res = error(http::status::too_many_requests, "rate_limited",
                         "more than " + std::to_string(static_cast<int>(ctx_.rate_per_s)) +
                             " requests per second for this token",
                         v, ka);
        res.set(http::field::retry_after, "1");
        return res;
    }
    bool role_ok = false;
    for (const auto& r : route.roles) role_ok = role_ok || who.role == r;
    if (role_ok) return std::nullopt;
    std::string roles;
    for (const auto& r : route.roles) roles += (roles.empty() ? "" : ", ") + r;
    return error(http::status::forbidden, "forbidden",
                 "role " + who.role + " may not use " + path + " (needs " + roles + ")", v, ka);
}

asio::awaitable<ApiRouter::Response> ApiRouter::handle(Request& req, const Client& client) {
    ctx_.metrics.http_requests.increment();
    Response res = co_await dispatch(req, client);
    add_security_headers(res);
    co_return res;
}

asio::awaitable<ApiRouter::Response> ApiRouter::dispatch(Request& req, const Client& client) {
    const std::string target(req.target());
    const auto qpos = target.find('?');
    const std::string path = target.substr(0, qpos);
    const unsigned v = req.version();
    const bool ka = req.keep_alive();

    // The paths answered before any route (no token) have GET only, like
    // every documented operation (docs/api/openapi.json); other methods: 405.
    const auto& open_paths = unauthenticated_paths();
    if (req.method() != http::verb::get &&
        std::find(open_paths.begin(), open_paths.end(), path) != open_paths.end()) {
        co_return error(http::status::method_not_allowed, "method_not_allowed",
                        std::string(req.method_string()) + " is not allowed on " + path, v, ka);
    }
    if (path == kHealthz) co_return json(http::status::ok, {{"status", "ok"}}, v, ka);
    std::optional<nlohmann::json> standby = ctx_.standby ? ctx_.standby() : std::nullopt;
    if (path == kReadyz) co_return readiness(standby, v, ka);
    if (path == kMetrics) {
        if (auto refused = co_await refuse_metrics(req, client)) co_return std::move(*refused);
        co_return metrics_page(v, ka);
    }
    if (path == kOpenApi) co_return openapi_page(v, ka);

    // Writes belong to the leader alone; its API address is in the message
    // (and in /readyz) for the client to go there.
    if (standby && req.method() != http::verb::get && path.rfind("/api/", 0) == 0) {
        co_return error(
            http::status::service_unavailable, "unavailable",
            "this server is a standby; send writes to the leader" + standby_leader_hint(*standby),
            v, ka);
    }

    const Route* route = find_route(std::string(req.method_string()), path);
    if (!route) co_return no_route(req, path);

    std::optional<std::string> token;
    if (auto it = req.find(http::field::authorization); it != req.end()) {
        token = bearer_token(std::string(it->value()));
    }
    if (!token) {
        co_return error(http::status::unauthorized, "unauthorized",
                        "send Authorization: Bearer TOKEN", v, ka);
    }
    const std::string& token_text = *token;
    auto auth = co_await ctx_.auth.authenticate(token_text);
    const std::optional<Principal>& who = auth.who;
    if (!who) {
        if (auth.unavailable) {
            co_return error(http::status::service_unavailable, "unavailable",
                            "the database is unreachable; try again", v, ka);
        }
        co_return error(http::status::unauthorized, "unauthorized", "unknown or revoked token", v,
                        ka);
    }
    if (auto refused = refuse_caller(*route, *who, path, v, ka)) co_return std::move(*refused);
    std::map<std::string, std::string> query;
    if (qpos != std::string::npos) query = parse_query(std::string_view(target).substr(qpos + 1));
    const Call call{req, *who, path, std::move(query)};
    try {
        auto response = route->handler(call);
        co_return co_await std::move(response);
    } catch (const BadParameter& bad) {
        co_return error(http::status::bad_request, "bad_parameter", bad.name + ": " + bad.message,
                        v, ka);
    }
}

}  // namespace huxiao
