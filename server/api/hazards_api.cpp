#include "server/api/hazards_api.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <variant>

#include "common/inspection/hazard_lifecycle.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/inspection_support.hpp"
#include "server/api/params.hpp"
#include "server/base/clock.hpp"
#include "server/db/inspection_queries.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using namespace inspection_support;
using Response = ApiRouter::Response;

namespace {

constexpr const char* kPrefix = "/api/v1/hazards/";

asio::awaitable<Response> list(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto& q = call.query;
    only(q, {"status", "school", "district", "limit"});
    const auto status = one_of(q, "status", {"open", "rectified", "verified", "overdue"});
    const int limit = integer(q, "limit", 1000, 1, 5000);
    // Overdue is open past the deadline: the rule (hazard_lifecycle) decides, not SQL.
    const bool overdue = status && *status == "overdue";
    const std::optional<std::string> db_status =
        overdue ? std::optional<std::string>("open") : status;
    const db::HazardFilter filter{std::nullopt,
                                  db_status,
                                  text(q, "school"),
                                  text(q, "district"),
                                  visible_districts_json(call.who),
                                  limit};
    const auto found = co_await db::list_hazards(db, filter);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    const UnixMicros now = system_now();
    json items = json::array();
    for (const db::HazardRow& row : found.value) {
        json h = hazard_json(row, now);
        if (overdue && !h["overdue"].get<bool>()) continue;
        items.push_back(std::move(h));
    }
    co_return reply(call, http::status::ok, {{"items", std::move(items)}});
}

struct Found {
    std::optional<json> hazard;
    std::optional<db::PgFailure> failure;
};

// The arguments must outlive the await (callers pass named variables).
asio::awaitable<Found> find(db::ReadDb& db, const std::string& id, const Principal& who) {
    Found out;
    const db::HazardFilter filter{
        id, std::nullopt, std::nullopt, std::nullopt, visible_districts_json(who), 1};
    const auto found = co_await db::list_hazards(db, filter);
    if (found.failure) {
        out.failure = found.failure;
        co_return out;
    }
    if (found.value.size() == 1) out.hazard = hazard_json(found.value[0], system_now());
    co_return out;
}

asio::awaitable<Response> one(db::ReadDb& db, const ApiRouter::Call& call) {
    only(call.query, {});
    const std::string id = call.path.substr(std::string(kPrefix).size());
    Found found = co_await find(db, id, call.who);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    // Another district's hazard is as unknown to an education token as a missing one.
    if (!found.hazard) co_return not_found(call, "no hazard " + id);
    co_return reply(call, http::status::ok, *found.hazard);
}

// What a rectify or verify body asks for: a rectification says what was done
// (a note); a verification accepts or not, and may set a new deadline.
std::variant<inspection::HazardAction, inspection::FieldError> read_action(
    const std::string& verb, const std::string& role, const json& body,
    const std::optional<std::string>& note_text) {
    if (verb == "rectify") {
        if (!note_text || note_text->find_first_not_of(" \t\r\n") == std::string::npos) {
            return inspection::FieldError{"note", "is required: say what was done"};
        }
        return inspection::HazardAction{inspection::Rectify{role}};
    }
    const auto accepted = body.find("accepted");
    if (accepted == body.end() || !accepted->is_boolean()) {
        return inspection::FieldError{"accepted", "is required: true or false"};
    }
    inspection::Verify v{role, accepted->get<bool>(), std::nullopt};
    if (const auto d = body.find("deadline"); d != body.end() && !d->is_null()) {
        const auto t = d->is_string() ? parse_iso8601(d->get<std::string>()) : std::nullopt;
        if (!t) {
            return inspection::FieldError{"deadline",
                                          "is not an ISO-8601 time like 2026-12-01T08:00:00Z"};
        }
        v.new_deadline = *t;
    }
    return inspection::HazardAction{v};
}

// POST /api/v1/hazards/{id}/rectify and /verify.
asio::awaitable<Response> act(db::ReadDb& db, const ApiRouter::Call& call) {
    only(call.query, {});
    const std::string rest = call.path.substr(std::string(kPrefix).size());
    const auto slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string verb = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (verb != "rectify" && verb != "verify") {
        co_return not_found(
            call, "no endpoint " + call.path + " (use /api/v1/hazards/{id}/rectify or /verify)");
    }
    if (verb == "verify" && call.who.role != "inspector") {
        co_return reply(call, http::status::forbidden,
                        {{"error", "forbidden"},
                         {"field", "role"},
                         {"message", "role " + call.who.role +
                                         " may not verify a rectification (needs inspector)"}});
    }
    std::optional<Response> error;
    const auto body = read_body(call, error);
    if (!body) co_return std::move(*error);
    for (const auto& [k, v] : body->items()) {
        const bool known =
            k == "note" || (verb == "verify" && (k == "accepted" || k == "deadline"));
        if (!known) co_return field_error(call, {k, "unknown field"});
    }
    const auto note = inspection::optional_text(*body, "note", inspection::kMaxNoteChars);
    if (const auto* e = std::get_if<inspection::FieldError>(&note)) co_return field_error(call, *e);
    const std::optional<std::string> note_text = std::get<std::optional<std::string>>(note);
    const UnixMicros now = system_now();

    auto read = read_action(verb, call.who.role, *body, note_text);
    if (const auto* e = std::get_if<inspection::FieldError>(&read)) co_return field_error(call, *e);
    const inspection::HazardAction action = std::get<inspection::HazardAction>(read);

    Found found = co_await find(db, id, call.who);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    if (!found.hazard) co_return not_found(call, "no hazard " + id);
    const auto status = inspection::hazard_status((*found.hazard)["status"].get<std::string>());
    const auto step =
        inspection::apply(status.value_or(inspection::HazardStatus::open), action, now);
    if (const auto* e = std::get_if<inspection::FieldError>(&step)) {
        co_return field_error(call, {e->field, "hazard " + id + ": " + e->message});
    }
    const auto& t = std::get<inspection::HazardTransition>(step);
    const db::HazardEvent event{id,        now,       t.event, call.who.name, call.who.role,
                                note_text, t.deadline};
    const auto failure = co_await db::add_hazard_event(db, event);
    if (failure) {
        if (failure->sqlstate == "23514") {  // another request changed it meanwhile
            co_return ApiRouter::error(http::status::conflict, "conflict",
                                       "hazard " + id + " changed meanwhile; reload it",
                                       call.req.version(), call.req.keep_alive());
        }
        co_return ApiRouter::database_error(call, *failure);
    }
    Found after = co_await find(db, id, call.who);
    if (after.failure || !after.hazard) {
        co_return reply(call, http::status::ok,
                        {{"id", id}, {"status", std::string(to_string(t.to))}});
    }
    co_return reply(call, http::status::ok, *after.hazard);
}

}  // namespace

void add_hazard_routes(ApiRouter& router, db::ReadDb& db) {
    router.add("GET", "/api/v1/hazards", {"inspector", "auditor", "education", "dispatcher"},
               [&db](const ApiRouter::Call& call) { return list(db, call); });
    router.add("GET", kPrefix, {"inspector", "auditor", "education", "dispatcher"},
               [&db](const ApiRouter::Call& call) { return one(db, call); });
    // Education reports rectifications; only an inspector verifies them (checked in `act`,
    // so that the answer names the role).
    router.add("POST", kPrefix, {"inspector", "education"},
               [&db](const ApiRouter::Call& call) { return act(db, call); });
}

}  // namespace huxiao::api
