#include "server/api/inspection_support.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/inspection/hazard_lifecycle.hpp"
#include "common/protocol/bounded_json.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/guard_posts_api.hpp"
#include "server/db/read_db.hpp"

namespace huxiao::api::inspection_support {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

ApiRouter::Response reply(const ApiRouter::Call& call, http::status status, const json& body) {
    return ApiRouter::json(status, body, call.req.version(), call.req.keep_alive());
}

ApiRouter::Response field_error(const ApiRouter::Call& call, const inspection::FieldError& e) {
    return reply(
        call, http::status::bad_request,
        {{"error", "bad_parameter"}, {"field", e.field}, {"message", e.field + ": " + e.message}});
}

ApiRouter::Response not_found(const ApiRouter::Call& call, const std::string& message) {
    return ApiRouter::error(http::status::not_found, "not_found", message, call.req.version(),
                            call.req.keep_alive());
}

std::optional<json> read_body(const ApiRouter::Call& call,
                              std::optional<ApiRouter::Response>& error) {
    const std::string& body = call.req.body();
    if (body.size() > kMaxBodyBytes) {
        error = ApiRouter::error(http::status::payload_too_large, "too_large",
                                 "the body exceeds " + std::to_string(kMaxBodyBytes) + " bytes",
                                 call.req.version(), call.req.keep_alive());
        return std::nullopt;
    }
    BoundedJson parsed = parse_bounded_json(body);
    if (const auto* e = std::get_if<JsonError>(&parsed)) {
        error = field_error(call, {"body", e->message});
        return std::nullopt;
    }
    json& value = std::get<json>(parsed);
    if (!value.is_object()) {
        error = field_error(call, {"body", "must be a JSON object"});
        return std::nullopt;
    }
    return std::move(value);
}

namespace {
json time_or_null(const std::optional<UnixMicros>& t) {
    return t ? json(format_iso_millis(*t)) : json(nullptr);
}
}  // namespace

json hazard_json(const db::HazardRow& h, UnixMicros now) {
    const auto status =
        inspection::hazard_status(h.status).value_or(inspection::HazardStatus::open);
    const UnixMicros deadline = h.deadline;
    json history = json::array();
    const json& events = h.history;
    for (const auto& e : events.is_array() ? events : json::array()) {
        history.push_back(
            {{"at", format_iso_millis(e["at"].get<UnixMicros>())},
             {"type", e["type"]},
             {"actor", e["actor"]},
             {"role", e["role"]},
             {"note", e["note"]},
             {"deadline", e["deadline"].is_null()
                              ? json(nullptr)
                              : json(format_iso_millis(e["deadline"].get<UnixMicros>()))}});
    }
    return {{"id", h.id},
            {"inspection", h.inspection},
            {"school", h.school},
            {"school_name", h.school_name},
            {"district", h.district},
            {"category", h.category},
            {"description", h.description},
            {"responsible", h.responsible},
            {"created_at", time_or_null(h.created)},
            {"status", std::string(inspection::to_string(status))},
            {"deadline", format_iso_millis(deadline)},
            {"overdue", inspection::is_overdue(status, deadline, now)},
            {"closed_at", time_or_null(h.closed)},
            {"history", std::move(history)}};
}

asio::awaitable<SchoolRows> load_schools(db::ReadDb& db, const Config& config,
                                         const SchoolSelection& selection, UnixMicros as_of) {
    SchoolRows out;
    out.calendar = TimeZone::locate(config.calendar.tz);
    if (!out.calendar) {  // parse_config refuses such a zone; this is for a Config made otherwise
        out.failure = "calendar.tz \"" + config.calendar.tz + "\" is not in the tz database";
        co_return out;
    }
    const db::SchoolFactsFilter filter{selection.school, selection.district, selection.visible};
    auto facts = co_await db::school_facts(db, filter, as_of);
    if (facts.failure) {
        out.failure = facts.failure->message;
        co_return out;
    }
    out.rows = std::move(facts.value);
    const UnixMicros since = as_of - inspection::kGuardPostWindow;
    const auto minutes = co_await guard_post_minutes(
        db, config, selection.school, selection.district, selection.visible, since, as_of);
    if (minutes.failure) {
        out.failure = minutes.failure;
        co_return out;
    }
    for (auto& s : out.rows) {
        if (auto it = minutes.schools.find(s.id); it != minutes.schools.end()) {
            s.facts.guard_scheduled_min = it->second.scheduled_min;
            s.facts.guard_present_min = it->second.present_min;
        }
    }
    co_return out;
}

}  // namespace huxiao::api::inspection_support
