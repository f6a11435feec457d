#include "server/api/api_router.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "server/app/clock.hpp"
#include "server/app/metrics.hpp"
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

bool ApiRouter::rate_ok(const std::string& who) {
    std::lock_guard lock(rate_mutex_);
    auto it = rate_.find(who);
    if (it == rate_.end()) {
        it = rate_.emplace(who, TokenBucket(ctx_.rate_per_s, 2 * ctx_.rate_per_s)).first;
    }
    return it->second.take(system_now());
}

namespace {
const char* content_type(const std::filesystem::path& p) {
    const auto ext = p.extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".json") return "application/json";
    if (ext == ".wav") return "audio/wav";
    return "application/octet-stream";
}
}  // namespace

ApiRouter::Response ApiRouter::serve_static(const Request& req, const std::string& path) const {
    std::string rel = path == "/" ? "index.html" : path.substr(1);
    if (rel.find("..") != std::string::npos) {
        return error(http::status::bad_request, "bad_path", "path may not contain ..",
                     req.version(), req.keep_alive());
    }
    const auto file = ctx_.web_root / rel;
    std::ifstream in(file, std::ios::binary);
    if (!in || std::filesystem::is_directory(file)) {
        return error(http::status::not_found, "not_found", "no such page: " + path, req.version(),
                     req.keep_alive());
    }
    std::stringstream body;
    body << in.rdbuf();
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, "huxiaod");
    res.set(http::field::content_type, content_type(file));
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(req.keep_alive());
    res.body() = body.str();
    res.prepare_payload();
    return res;
}

asio::awaitable<ApiRouter::Response> ApiRouter::handle(Request& req) {
    ++ctx_.metrics.http_requests;
    co_return co_await dispatch(req);
}

asio::awaitable<ApiRouter::Response> ApiRouter::dispatch(Request& req) {
    const std::string target(req.target());
    const auto qpos = target.find('?');
    const std::string path = target.substr(0, qpos);
    const unsigned v = req.version();
    const bool ka = req.keep_alive();

    if (path == "/healthz") co_return json(http::status::ok, {{"status", "ok"}}, v, ka);
    if (path == "/readyz") {
        const bool ready = ctx_.ready();
        co_return json(ready ? http::status::ok : http::status::service_unavailable,
                       {{"status", ready ? "ready" : "not_ready"}, {"database", ctx_.db.up()}}, v,
                       ka);
    }
    if (path == "/metrics") {
        Response res{http::status::ok, v};
        res.set(http::field::content_type, "text/plain; version=0.0.4");
        res.keep_alive(ka);
        res.body() = ctx_.metrics.render();
        res.prepare_payload();
        co_return res;
    }

    const Route* route = nullptr;
    for (const auto& r : routes_) {
        if (r.method == std::string(req.method_string()) &&
            (path == r.prefix || (path.rfind(r.prefix, 0) == 0 && r.prefix.back() == '/'))) {
            if (!route || r.prefix.size() > route->prefix.size()) route = &r;
        }
    }
    if (!route) {
        if (req.method() == http::verb::get && path.rfind("/api/", 0) != 0) {
            co_return serve_static(req, path);
        }
        bool other_method = false;
        for (const auto& r : routes_) {
            other_method = other_method || path == r.prefix ||
                           (path.rfind(r.prefix, 0) == 0 && r.prefix.back() == '/');
        }
        if (other_method) {
            co_return error(http::status::method_not_allowed, "method_not_allowed",
                            std::string(req.method_string()) + " is not allowed on " + path, v, ka);
        }
        co_return error(http::status::not_found, "not_found", "no endpoint " + path, v, ka);
    }

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
    if (!rate_ok(who->name)) {
        auto res = error(http::status::too_many_requests, "rate_limited",
                         "more than " + std::to_string(static_cast<int>(ctx_.rate_per_s)) +
                             " requests per second for this token",
                         v, ka);
        res.set(http::field::retry_after, "1");
        co_return res;
    }
    bool role_ok = false;
    for (const auto& r : route->roles) role_ok = role_ok || who->role == r;
    if (!role_ok) {
        std::string roles;
        for (const auto& r : route->roles) roles += (roles.empty() ? "" : ", ") + r;
        co_return error(http::status::forbidden, "forbidden",
                        "role " + who->role + " may not use " + path + " (needs " + roles + ")", v,
                        ka);
    }
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
