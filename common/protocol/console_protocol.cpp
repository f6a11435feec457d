#include "common/protocol/console_protocol.hpp"

#include <nlohmann/json.hpp>

#include "common/protocol/bounded_json.hpp"

namespace huxiao::console_protocol {

namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A present, non-empty string field; std::nullopt when absent, empty or not a string.
std::optional<std::string> text_field(const json& m, const char* name) {
    auto it = m.find(name);
    if (it == m.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        return std::nullopt;
    return it->get<std::string>();
}

Error bad(std::string message, const std::string& ref) {
    return {"bad_frame", std::move(message), ref};
}

}  // namespace

Decoded decode(std::string_view text, const Sender& sender) {
    BoundedJson parsed = parse_bounded_json(text);  // contract 1.1: nesting limit 64
    if (auto* e = std::get_if<JsonError>(&parsed)) return bad("command: " + e->message, "null");
    const json& m = std::get<json>(parsed);
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
        return bad("commands are JSON objects with a \"type\"", "null");
    const std::string& type = m["type"].get_ref<const std::string&>();
    // ref echoes the command's id (contract 1.1) only when it is a plain
    // string or number: a client's nested JSON is never copied back.
    const auto plain = [&m](const char* key) {
        auto it = m.find(key);
        return it != m.end() && (it->is_string() || it->is_number());
    };
    std::string ref = "null";
    if (plain("id"))
        ref = dump(m["id"]);
    else if (plain("incident"))
        ref = dump(m["incident"]);

    if (type == "snapshot") {  // a console may ask for a fresh picture at any time
        auto schools = m.find("schools");
        return SnapshotRequest{!(schools != m.end() && *schools == false)};
    }
    const bool command = type == "acknowledge" || type == "assign" || type == "cancel" ||
                         type == "resolve" || type == "note";
    if (!command) return Error{"unknown_type", "unknown command \"" + type + "\"", ref};
    if (!sender.may_command)
        return Error{"forbidden", "role " + sender.role + " is read-only", ref};

    auto incident = text_field(m, "incident");
    if (!incident) return bad("field \"incident\" is required", ref);
    if (incident->size() > 64) return bad("field \"incident\" is not an incident id", ref);
    for (const char* name : {"incident", "reason", "note", "text", "unit"}) {
        const auto f = text_field(m, name);
        if (f && f->size() > kMaxTextField)
            return bad("field \"" + std::string(name) + "\" is too long", ref);
        // PostgreSQL cannot store NUL in text or jsonb: refused here, a record
        // with one would never reach the timeline (issue #8 item 6).
        if (f && f->find('\0') != std::string::npos)
            return bad("field \"" + std::string(name) + "\" must not contain NUL (\\u0000)", ref);
    }
    if (type == "acknowledge")
        return Command{dispatch::ConsoleAcknowledge{*incident, sender.name}, ref};
    if (type == "assign") {
        auto unit = text_field(m, "unit");
        if (!unit) return bad("field \"unit\" is required", ref);
        return Command{dispatch::ConsoleAssign{*incident, *unit, sender.name}, ref};
    }
    if (type == "cancel") {
        return Command{
            dispatch::ConsoleCancel{*incident, sender.name, text_field(m, "reason").value_or("")},
            ref};
    }
    if (type == "resolve") {
        return Command{
            dispatch::ConsoleResolve{*incident, sender.name, text_field(m, "note").value_or("")},
            ref};
    }
    auto note = text_field(m, "text");
    if (!note) return bad("field \"text\" is required", ref);
    return Command{dispatch::ConsoleNote{*incident, sender.name, *note}, ref};
}

std::string encode_ok(const std::string& ref) {
    return dump(json{{"type", "ok"}, {"ref", json::parse(ref, nullptr, false)}});
}

std::string encode_error(const Error& error) {
    return dump(json{{"type", "error"},
                     {"code", error.code},
                     {"message", error.message},
                     {"ref", json::parse(error.ref, nullptr, false)}});
}

std::string encode_event(const Event& e, const json& details) {
    json m{{"type", "event"},    {"incident", e.incident},
           {"event", e.event},   {"at", format_iso_micros(e.at)},
           {"actor", e.actor},   {"unit", e.unit.empty() ? json(nullptr) : json(e.unit)},
           {"school", e.school}, {"details", details}};
    if (e.drill) m["drill"] = *e.drill;
    if (e.state) m["state"] = *e.state;
    return dump(m);
}

std::string encode_terminal(const std::string& terminal, const std::string& school, bool online,
                            UnixMicros at) {
    return dump(json{{"type", "terminal"},
                     {"terminal", terminal},
                     {"school", school},
                     {"online", online},
                     {"at", format_iso_micros(at)}});
}

std::string encode_snapshot(const SnapshotView& v) {
    json incidents = json::array();
    for (const auto& i : v.incidents) {
        json offers = json::array();
        for (const auto& o : i.offers) {
            offers.push_back(
                {{"unit", o.unit}, {"eta_s", o.eta_s}, {"expires_in_s", o.expires_in_s}});
        }
        incidents.push_back({{"id", i.id},
                             {"school", i.school},
                             {"school_name", i.school_name},
                             {"district", i.district},
                             {"lat", i.lat},
                             {"lon", i.lon},
                             {"kind", i.kind},
                             {"drill", i.drill},
                             {"state", i.state},
                             {"received_at", format_iso_millis(i.received_at)},
                             {"acknowledged", i.acknowledged},
                             {"units", i.units},
                             {"offers", std::move(offers)}});
    }
    json units = json::array();
    for (const auto& u : v.units) {
        units.push_back({{"id", u.id},
                         {"callsign", u.callsign},
                         {"district", u.district},
                         {"lat", u.lat},
                         {"lon", u.lon},
                         {"status", u.status},
                         {"incident", u.incident.empty() ? json(nullptr) : json(u.incident)}});
    }
    json offline = json::array();
    for (const auto& t : v.terminals_offline) {
        offline.push_back(
            {{"id", t.id},
             {"school", t.school},
             {"last_seen", t.last_seen ? json(format_iso_millis(t.last_seen)) : json(nullptr)}});
    }
    json snap = {
        {"type", "snapshot"},
        {"server_time", format_iso_millis(v.server_time)},
        {"you", {{"name", v.you.name}, {"role", v.you.role}, {"districts", v.you.districts}}},
        {"incidents", std::move(incidents)},
        {"units", std::move(units)},
        {"terminals", {{"online", v.terminals_online}, {"offline", std::move(offline)}}}};
    if (v.with_schools) {
        json schools = json::array();
        for (const auto& s : v.schools) {
            schools.push_back({{"id", s.id},
                               {"name", s.name},
                               {"district", s.district},
                               {"lat", s.lat},
                               {"lon", s.lon}});
        }
        json districts = json::array();
        for (const auto& d : v.districts) districts.push_back({{"id", d.id}, {"name", d.name}});
        snap["schools"] = std::move(schools);
        snap["districts"] = std::move(districts);
    }
    return dump(snap);
}

}  // namespace huxiao::console_protocol
