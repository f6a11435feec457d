#include "common/protocol/terminal_protocol.hpp"

#include <nlohmann/json.hpp>

#include "common/config/config.hpp"
#include "common/protocol/bounded_json.hpp"

namespace huxiao::terminal {

namespace {

using nlohmann::json;

ProtocolError bad_frame(std::string message, std::optional<std::string> ref = std::nullopt) {
    return {ErrorCode::bad_frame, std::move(message), std::move(ref)};
}

// PostgreSQL cannot store a NUL in text (and libpq would cut the text there):
// such a field is refused here, where the sender learns why.
bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// Reads a required id-shaped field; returns an error message or nothing.
std::optional<std::string> read_id(const json& frame, const char* field, std::string& out) {
    auto it = frame.find(field);
    if (it == frame.end()) return std::string("missing field \"") + field + "\"";
    if (!it->is_string()) return std::string("field \"") + field + "\" must be a string";
    out = it->get<std::string>();
    if (!is_valid_id(out)) {
        return std::string("field \"") + field + "\" must be 1-64 printable ASCII characters";
    }
    return std::nullopt;
}

DecodeResult decode_hello(const json& f) {
    Hello h;
    if (auto e = read_id(f, "terminal", h.terminal)) return bad_frame(*e);
    if (auto it = f.find("proto"); it != f.end()) {
        if (!it->is_number_integer()) return bad_frame("field \"proto\" must be an integer");
        if (it->get<long long>() != 1) {
            return bad_frame("unsupported protocol version " + it->dump() +
                             " (this server speaks 1)");
        }
    }
    if (auto it = f.find("fw"); it != f.end()) {
        if (!it->is_string() || it->get<std::string>().size() > 64) {
            return bad_frame("field \"fw\" must be a string of at most 64 bytes");
        }
        if (has_nul(it->get<std::string>())) {
            return bad_frame("field \"fw\" must not contain NUL (\\u0000)");
        }
        h.fw = it->get<std::string>();
    }
    return Frame{std::move(h)};
}

DecodeResult decode_alarm(const json& f, const std::optional<std::string>& ref) {
    Alarm a;
    if (auto e = read_id(f, "id", a.id)) return bad_frame(*e, ref);
    auto kind = f.find("kind");
    if (kind == f.end()) return bad_frame("missing field \"kind\"", ref);
    if (!kind->is_string() || !is_alarm_kind(kind->get<std::string>())) {
        return bad_frame(
            "field \"kind\" must be one of intrusion, assault, medical, fire, "
            "bullying, self_harm, drowning, traffic, other",
            ref);
    }
    a.kind = kind->get<std::string>();
    // `at` is documented but the terminal's clock is never trusted, so a
    // missing one does not cost the school its alarm; a malformed one does
    // get reported, since it points at a terminal bug.
    if (auto at = f.find("at"); at != f.end() && !at->is_null()) {
        if (!at->is_string()) return bad_frame("field \"at\" must be an ISO-8601 string", ref);
        a.at = parse_iso8601(at->get<std::string>());
        if (!a.at) {
            return bad_frame("field \"at\" is not an ISO-8601 time like 2026-09-01T07:30:00Z", ref);
        }
    }
    if (auto drill = f.find("drill"); drill != f.end() && !drill->is_null()) {
        if (!drill->is_boolean()) return bad_frame("field \"drill\" must be true or false", ref);
        a.drill = drill->get<bool>();
    }
    if (auto note = f.find("note"); note != f.end() && !note->is_null()) {
        if (!note->is_string()) return bad_frame("field \"note\" must be a string", ref);
        a.note = note->get<std::string>();
        if (utf8_length(a.note) > kMaxNoteLength) {
            return bad_frame("field \"note\" is longer than 500 characters", ref);
        }
        if (has_nul(a.note)) return bad_frame("field \"note\" must not contain NUL (\\u0000)", ref);
    }
    return Frame{std::move(a)};
}

DecodeResult decode_heartbeat(const json& f) {
    Heartbeat h;
    auto seq = f.find("seq");
    if (seq != f.end()) {
        if (!seq->is_number_integer()) return bad_frame("field \"seq\" must be an integer");
        h.seq = seq->get<std::int64_t>();
    }
    return Frame{h};
}

DecodeResult decode_cancel(const json& f, const std::optional<std::string>& ref) {
    Cancel c;
    if (auto e = read_id(f, "id", c.id)) return bad_frame(*e, ref);
    if (auto e = read_id(f, "alarm", c.alarm)) return bad_frame(*e, ref);
    if (auto reason = f.find("reason"); reason != f.end() && !reason->is_null()) {
        if (!reason->is_string()) return bad_frame("field \"reason\" must be a string", ref);
        c.reason = reason->get<std::string>();
        if (utf8_length(c.reason) > kMaxNoteLength) {
            return bad_frame("field \"reason\" is longer than 500 characters", ref);
        }
        if (has_nul(c.reason)) {
            return bad_frame("field \"reason\" must not contain NUL (\\u0000)", ref);
        }
    }
    return Frame{std::move(c)};
}

}  // namespace

std::string_view to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::bad_frame:
            return "bad_frame";
        case ErrorCode::frame_too_large:
            return "frame_too_large";
        case ErrorCode::unknown_type:
            return "unknown_type";
        case ErrorCode::not_hello:
            return "not_hello";
        case ErrorCode::unknown_terminal:
            return "unknown_terminal";
        case ErrorCode::identity_mismatch:
            return "identity_mismatch";
        case ErrorCode::rate_limited:
            return "rate_limited";
        case ErrorCode::unavailable:
            return "unavailable";
    }
    return "unknown";
}

bool keeps_connection(ErrorCode code) {
    return code == ErrorCode::bad_frame || code == ErrorCode::unknown_type ||
           code == ErrorCode::unavailable;
}

bool is_valid_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxIdLength) return false;
    for (unsigned char c : id) {
        if (c < 0x21 || c > 0x7E) return false;
    }
    return true;
}

DecodeResult decode_terminal_frame(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    BoundedJson parsed = parse_bounded_json(line);
    if (auto* e = std::get_if<JsonError>(&parsed)) {
        return bad_frame(e->cause == JsonError::Cause::too_deep ? "frame holds " + e->message
                                                                : "frame is not valid JSON");
    }
    const json frame = std::move(std::get<json>(parsed));
    if (!frame.is_object()) return bad_frame("frame must be a JSON object");

    std::optional<std::string> ref;
    if (auto id = frame.find("id"); id != frame.end() && id->is_string()) {
        ref = id->get<std::string>();
        if (!is_valid_id(*ref)) ref.reset();
    }
    auto type = frame.find("type");
    if (type == frame.end()) return bad_frame("missing field \"type\"", ref);
    if (!type->is_string()) return bad_frame("field \"type\" must be a string", ref);
    const std::string& t = type->get_ref<const std::string&>();
    if (t == "alarm") return decode_alarm(frame, ref);
    if (t == "heartbeat") return decode_heartbeat(frame);
    if (t == "cancel") return decode_cancel(frame, ref);
    if (t == "hello") return decode_hello(frame);
    return ProtocolError{ErrorCode::unknown_type, "unknown frame type \"" + t + "\"", ref};
}

std::string encode_welcome(UnixMicros server_time, int heartbeat_s) {
    json j = {{"type", "welcome"},
              {"server_time", format_iso_millis(server_time)},
              {"heartbeat_s", heartbeat_s}};
    return j.dump() + "\n";
}

std::string encode_ack(std::string_view id, std::string_view incident) {
    json j = {{"type", "ack"}, {"id", id}, {"incident", incident}};
    return j.dump() + "\n";
}

std::string encode_heartbeat_ack(std::int64_t seq) {
    json j = {{"type", "heartbeat_ack"}, {"seq", seq}};
    return j.dump() + "\n";
}

std::string encode_error(const ProtocolError& error) {
    json j = {{"type", "error"},
              {"code", to_string(error.code)},
              {"message", error.message},
              {"ref", error.ref ? json(*error.ref) : json(nullptr)}};
    // Replace rather than throw on invalid UTF-8 echoed back from a bad frame.
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string encode_status(const StatusPush& s) {
    json j = {{"type", "status"}, {"incident", s.incident}, {"state", s.state}};
    if (s.unit) j["unit"] = *s.unit;
    if (s.eta_s) j["eta_s"] = *s.eta_s;
    if (s.drill) j["drill"] = true;
    j["at"] = format_iso_millis(s.at);
    return j.dump() + "\n";
}

}  // namespace huxiao::terminal
