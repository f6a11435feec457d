#include "server/api/admin_api.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <variant>

#include "common/config/config_reload.hpp"
#include "common/model/registry_import.hpp"
#include "common/protocol/bounded_json.hpp"
#include "common/protocol/request_target.hpp"
#include "server/api/params.hpp"
#include "server/db/admin_queries.hpp"
#include "server/db/registry_store.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using Response = ApiRouter::Response;

namespace {

struct Kind {
    const char* path;     // in the URL
    const char* section;  // in the import file
    db::RegistryTable table;
};
constexpr Kind kKinds[] = {{"schools", "schools", db::RegistryTable::schools},
                           {"terminals", "terminals", db::RegistryTable::terminals},
                           {"units", "units", db::RegistryTable::units},
                           {"guard-posts", "guard_posts", db::RegistryTable::guard_posts}};

Response reply(const ApiRouter::Call& call, http::status status, const json& body) {
    return ApiRouter::json(status, body, call.req.version(), call.req.keep_alive());
}
Response fail(const ApiRouter::Call& call, http::status status, const std::string& code,
              const std::string& message) {
    return ApiRouter::error(status, code, message, call.req.version(), call.req.keep_alive());
}
Response db_error(const ApiRouter::Call& call, const db::PgFailure& f) {
    // The client's mistakes: say what, not PostgreSQL's words (those go to
    // the log with the other database errors).
    if (f.sqlstate == "23505") {
        return fail(call, http::status::conflict, "conflict",
                    "already taken by another record (an id or DC-09 account in use)");
    }
    if (f.sqlstate == "23503") {
        return fail(call, http::status::conflict, "conflict", "still referenced by other records");
    }
    return ApiRouter::database_error(call, f);
}

// POST (one record or an array) and PUT /{kind}/{id} (one record, id from the path).
asio::awaitable<Response> upsert(db::ReadDb& db, const std::function<void()>& changed,
                                 const Kind& kind, const ApiRouter::Call& call) {
    BoundedJson body_json = parse_bounded_json(call.req.body());
    if (auto* e = std::get_if<JsonError>(&body_json)) {
        co_return fail(call, http::status::bad_request, "bad_body", "the body: " + e->message);
    }
    json body = std::move(std::get<json>(body_json));
    if (!(body.is_object() || body.is_array())) {
        co_return fail(call, http::status::bad_request, "bad_body",
                       "the body must be a JSON object or array");
    }
    const std::string prefix = std::string("/api/v1/") + kind.path + "/";
    if (call.path.size() > prefix.size()) {  // PUT /api/v1/schools/S-1
        const std::string id = call.path.substr(prefix.size());
        if (!body.is_object())
            co_return fail(call, http::status::bad_request, "bad_body", "PUT takes one object");
        if (std::string(kind.path) == "guard-posts") {
            const auto slash = id.find('/');
            if (slash == std::string::npos) {
                co_return fail(call, http::status::bad_request, "bad_path",
                               "use /api/v1/guard-posts/SCHOOL/UNIT");
            }
            body["school"] = id.substr(0, slash);
            body["unit"] = id.substr(slash + 1);
        } else if (body.contains("id") && body["id"] != id) {
            co_return fail(call, http::status::bad_request, "bad_body",
                           "the id in the body differs from the path");
        } else {
            body["id"] = id;
        }
    }
    if (body.is_object()) body = json::array({body});
    const auto ids = co_await db::known_ids(db);
    if (ids.failure)
        co_return fail(call, http::status::service_unavailable, "unavailable",
                       "database unreachable");
    const RegistryParse parsed = parse_registry(json{{kind.section, body}}.dump(), ids.value);
    if (!parsed.errors.empty()) {
        std::string all;
        for (const auto& e : parsed.errors) all += (all.empty() ? "" : "; ") + e;
        co_return reply(call, http::status::bad_request,
                        {{"error", "bad_record"}, {"message", all}, {"problems", parsed.errors}});
    }
    const auto failure = co_await db::upsert_registry(db, parsed.registry);
    if (failure) co_return db_error(call, *failure);
    changed();
    co_return reply(call, http::status::ok, {{"upserted", body.size()}});
}

asio::awaitable<Response> remove(db::ReadDb& db, const std::function<void()>& changed,
                                 const Kind& kind, const ApiRouter::Call& call) {
    const std::string prefix = std::string("/api/v1/") + kind.path + "/";
    const std::string id = call.path.substr(prefix.size());
    db::DbResult<bool> deleted;
    if (kind.table == db::RegistryTable::guard_posts) {
        const auto slash = id.find('/');
        if (slash == std::string::npos) {
            co_return fail(call, http::status::bad_request, "bad_path",
                           "use /api/v1/guard-posts/SCHOOL/UNIT");
        }
        const std::string school = id.substr(0, slash), unit = id.substr(slash + 1);
        deleted = co_await db::delete_guard_post(db, school, unit);
    } else {
        deleted = co_await db::delete_record(db, kind.table, id);
    }
    if (deleted.failure) co_return db_error(call, *deleted.failure);
    if (!deleted.value) {
        co_return fail(call, http::status::not_found, "not_found",
                       std::string("no such ") + kind.section + " " + id);
    }
    changed();
    co_return reply(call, http::status::ok, {{"deleted", id}});
}

asio::awaitable<Response> list(db::ReadDb& db, const Kind& kind, const ApiRouter::Call& call) {
    only(call.query, {});
    const auto records = co_await db::list_records(db, kind.table);
    if (records.failure) co_return db_error(call, *records.failure);
    co_return reply(call, http::status::ok, {{"items", records.value}});
}

asio::awaitable<Response> list_tokens(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto tokens = co_await db::list_tokens(db);
    if (tokens.failure) co_return db_error(call, *tokens.failure);
    co_return reply(call, http::status::ok, {{"items", tokens.value}});
}

struct TokenRequest {
    std::string name, role;
    std::optional<std::string> unit;
    std::optional<std::string> districts;  // a JSON array of district ids
};

// The body of POST /api/v1/tokens checked, or what is wrong with it (400 bad_body).
std::variant<TokenRequest, std::string> read_token_request(const std::string& text) {
    BoundedJson parsed = parse_bounded_json(text);
    if (auto* e = std::get_if<JsonError>(&parsed)) return "the body: " + e->message;
    json body = std::move(std::get<json>(parsed));
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string() ||
        !body.contains("role") || !body["role"].is_string()) {
        return std::string("needs {\"name\": …, \"role\": …}");
    }
    TokenRequest r;
    // The name is the token's actor in the timeline and its handle in
    // DELETE /api/v1/tokens/{name}: one path segment, printable.
    r.name = body["name"].get<std::string>();
    if (r.name.empty() || r.name.size() > 128 ||
        std::any_of(r.name.begin(), r.name.end(), [](char c) {
            const auto b = static_cast<unsigned char>(c);
            return b < 0x20 || b == 0x7F || c == '/';
        })) {
        return std::string("\"name\" must be 1-128 characters without '/' or control characters");
    }
    r.role = body["role"].get<std::string>();
    static const std::set<std::string> kRoles = {"admin",     "dispatcher", "auditor",
                                                 "education", "unit",       "inspector"};
    if (!kRoles.count(r.role)) {
        return std::string(
            "role must be one of admin, dispatcher, auditor, education, unit, inspector");
    }
    if (body.contains("unit") && body["unit"].is_string()) r.unit = body["unit"].get<std::string>();
    if ((r.role == "unit") != r.unit.has_value()) {
        return std::string("unit tokens, and only they, name a unit");
    }
    // Districts travel as a JSON array parameter, never a hand-built array
    // literal; an education token must name at least one (contract 1.1).
    if (auto d = body.find("districts"); d != body.end() && !d->is_null()) {
        const std::string not_ids = "\"districts\" must be an array of district ids";
        if (!d->is_array()) return not_ids;
        for (const auto& id : *d) {
            if (!id.is_string() || id.get_ref<const std::string&>().empty()) return not_ids;
        }
        if (!d->empty()) r.districts = d->dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (r.role == "education" && !r.districts) {
        return std::string("an education token needs \"districts\": [\"D-1\", ...]");
    }
    return r;
}

asio::awaitable<Response> create_token(db::ReadDb& db, const ApiRouter::Call& call) {
    auto request = read_token_request(call.req.body());
    if (auto* wrong = std::get_if<std::string>(&request)) {
        co_return fail(call, http::status::bad_request, "bad_body", *wrong);
    }
    const TokenRequest& r = std::get<TokenRequest>(request);
    const std::optional<std::string>& districts = r.districts;
    if (districts) {
        const auto unknown = co_await db::unknown_district(db, *districts);
        if (unknown.failure) co_return db_error(call, *unknown.failure);
        if (unknown.value) {
            co_return fail(call, http::status::bad_request, "bad_body",
                           "unknown district \"" + *unknown.value + "\" in \"districts\"");
        }
    }
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) {
        co_return ApiRouter::error(http::status::service_unavailable, "unavailable",
                                   "no randomness for a token; try again", call.req.version(),
                                   call.req.keep_alive());
    }
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string token = "hx_";
    for (unsigned char b : random) token.push_back(kAlphabet[b & 63]);
    const db::NewToken row{r.name, r.role, r.unit, districts, db::token_hash_hex(token)};
    const auto inserted = co_await db::insert_token(db, row);
    if (inserted.failure) co_return db_error(call, *inserted.failure);
    if (!inserted.value) {
        co_return fail(call, http::status::conflict, "conflict", "a token with this name exists");
    }
    co_return reply(call, http::status::created,
                    {{"name", r.name}, {"role", r.role}, {"token", token}});
}

asio::awaitable<Response> revoke_token(db::ReadDb& db, TokenAuthenticator& auth,
                                       const ApiRouter::Call& call) {
    // Token names are free text: the path carries them percent-encoded.
    const auto decoded =
        decode_path_segment(call.path.substr(std::string("/api/v1/tokens/").size()));
    if (!decoded) {
        co_return fail(call, http::status::bad_request, "bad_path",
                       "the token name in the path is not a percent-encoded path segment");
    }
    const std::string& name = *decoded;
    const auto revoked = co_await db::revoke_token(db, name);
    if (revoked.failure) co_return db_error(call, *revoked.failure);
    if (!revoked.value) {
        co_return fail(call, http::status::not_found, "not_found", "no active token named " + name);
    }
    auth.revoked(name);  // takes effect at once, open sessions included
    co_return reply(call, http::status::ok, {{"revoked", name}});
}

}  // namespace

void add_admin_routes(ApiRouter& router, db::ReadDb& db, TokenAuthenticator& auth,
                      std::function<void()> registry_changed) {
    auto changed = std::make_shared<std::function<void()>>(std::move(registry_changed));
    for (const Kind& kind : kKinds) {
        const std::string base = std::string("/api/v1/") + kind.path;
        // GET /api/v1/terminals is the terminals' status list (terminals_api),
        // which admins may read too; a second route there would never answer.
        if (std::string(kind.path) != "terminals") {
            router.add("GET", base, {"admin", "dispatcher"},
                       [&db, &kind](const ApiRouter::Call& call) { return list(db, kind, call); });
        }
        router.add("POST", base, {"admin"}, [&db, &kind, changed](const ApiRouter::Call& call) {
            return upsert(db, *changed, kind, call);
        });
        router.add("PUT", base + "/", {"admin"},
                   [&db, &kind, changed](const ApiRouter::Call& call) {
                       return upsert(db, *changed, kind, call);
                   });
        router.add("DELETE", base + "/", {"admin"},
                   [&db, &kind, changed](const ApiRouter::Call& call) {
                       return remove(db, *changed, kind, call);
                   });
    }
    router.add("GET", "/api/v1/tokens", {"admin"},
               [&db](const ApiRouter::Call& call) { return list_tokens(db, call); });
    router.add("POST", "/api/v1/tokens", {"admin"},
               [&db](const ApiRouter::Call& call) { return create_token(db, call); });
    router.add("DELETE", "/api/v1/tokens/", {"admin"},
               [&db, &auth](const ApiRouter::Call& call) { return revoke_token(db, auth, call); });
}

void add_reload_route(
    ApiRouter& router,
    std::function<boost::asio::awaitable<ReloadOutcome>(std::string why)> reload) {
    router.add("POST", "/api/v1/admin/reload", {"admin"},
               [reload](const ApiRouter::Call& call) -> asio::awaitable<Response> {
                   const ReloadOutcome outcome =
                       co_await reload("POST /api/v1/admin/reload by token " + call.who.name);
                   if (!outcome.applied) {
                       co_return fail(call, http::status::unprocessable_entity, "invalid_config",
                                      outcome.error);
                   }
                   co_return reply(call, http::status::ok,
                                   {{"reloaded", outcome.applied_settings},
                                    {"restart_required", outcome.restart_required}});
               });
}

}  // namespace huxiao::api
