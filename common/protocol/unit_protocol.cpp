#include "common/protocol/unit_protocol.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/protocol/bounded_json.hpp"

namespace huxiao::unit_protocol {

namespace {

using nlohmann::json;
constexpr std::size_t kMaxTextField = 500;

Error bad(std::string message, std::optional<std::string> ref = std::nullopt) {
    return {"bad_frame", std::move(message), std::move(ref)};
}

std::optional<std::string> string_field(const json& m, const char* name) {
    auto it = m.find(name);
    if (it == m.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

Decoded decode(std::string_view text, const std::string& unit) {
    BoundedJson parsed = parse_bounded_json(text);
    if (auto* e = std::get_if<JsonError>(&parsed)) {
        return bad(e->cause == JsonError::Cause::too_deep ? "message holds " + e->message
                                                          : "message is not valid JSON");
    }
    const json m = std::move(std::get<json>(parsed));
    if (!m.is_object()) return bad("message must be a JSON object");
    auto type = string_field(m, "type");
    if (!type) return bad("missing or non-string field \"type\"");

    if (*type == "position") {
        auto lat = m.find("lat");
        auto lon = m.find("lon");
        if (lat == m.end() || lon == m.end() || !lat->is_number() || !lon->is_number()) {
            return bad("position needs numeric \"lat\" and \"lon\"");
        }
        const double la = lat->get<double>(), lo = lon->get<double>();
        if (!std::isfinite(la) || !std::isfinite(lo) || la < -90 || la > 90 || lo < -180 ||
            lo > 180) {
            return bad("position out of range (lat -90..90, lon -180..180)");
        }
        return dispatch::Event{dispatch::UnitPosition{unit, la, lo}};
    }
    if (*type == "availability") {
        auto status = string_field(m, "status");
        if (status == "available") return dispatch::Event{dispatch::UnitAvailability{unit, true}};
        if (status == "out_of_service")
            return dispatch::Event{dispatch::UnitAvailability{unit, false}};
        return bad("field \"status\" must be \"available\" or \"out_of_service\"");
    }

    const bool about_incident = *type == "accept" || *type == "decline" || *type == "en_route" ||
                                *type == "arrived" || *type == "clear";
    if (!about_incident)
        return Error{"unknown_type", "unknown message type \"" + *type + "\"", std::nullopt};
    auto incident = string_field(m, "incident");
    if (!incident || incident->empty() || incident->size() > 64) {
        return bad("field \"incident\" must be an incident id");
    }
    if (*type == "accept") return dispatch::Event{dispatch::UnitAccept{unit, *incident}};
    if (*type == "en_route") return dispatch::Event{dispatch::UnitEnRoute{unit, *incident}};
    if (*type == "arrived") return dispatch::Event{dispatch::UnitArrived{unit, *incident}};
    if (*type == "decline") {
        std::string reason = string_field(m, "reason").value_or("");
        if (reason.size() > kMaxTextField) return bad("field \"reason\" is too long", incident);
        if (reason.find('\0') != std::string::npos) {
            return bad("field \"reason\" must not contain NUL (\\u0000)", incident);
        }
        return dispatch::Event{dispatch::UnitDecline{unit, *incident, std::move(reason)}};
    }
    std::string outcome = string_field(m, "outcome").value_or("");
    if (outcome.size() > kMaxTextField) return bad("field \"outcome\" is too long", incident);
    // PostgreSQL cannot store a NUL in the timeline's details.
    if (outcome.find('\0') != std::string::npos) {
        return bad("field \"outcome\" must not contain NUL (\\u0000)", incident);
    }
    return dispatch::Event{dispatch::UnitClear{unit, *incident, std::move(outcome)}};
}

namespace {

json to_json(const dispatch::OfferMessage& m) {
    json school{{"id", m.school}};
    if (m.school_name) school["name"] = *m.school_name;
    if (m.school_location) {
        school["lat"] = m.school_location->lat;
        school["lon"] = m.school_location->lon;
    }
    return json{{"type", "offer"},
                {"incident", m.incident},
                {"kind", m.kind},
                {"drill", m.drill},
                {"school", std::move(school)},
                {"eta_s", m.eta_s},
                {"expires_in_s", m.expires_in_s}};
}

json to_json(const dispatch::OfferWithdrawnMessage& m) {
    return json{{"type", "offer_withdrawn"},
                {"incident", m.incident},
                {"reason", dispatch::to_string(m.reason)}};
}

json to_json(const dispatch::IncidentClosedMessage& m) {
    return json{{"type", "incident_closed"}, {"incident", m.incident}};
}

}  // namespace

std::string encode(const dispatch::UnitMessage& message) {
    return std::visit([](const auto& m) { return to_json(m); }, message)
        .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_error(const std::string& code, const std::string& message,
                         const std::optional<std::string>& ref) {
    return json{{"type", "error"},
                {"code", code},
                {"message", message},
                {"ref", ref ? json(*ref) : json(nullptr)}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace huxiao::unit_protocol
