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

// ---- the plain alarm (decode_plain_alarm) ----

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The length of the well-formed UTF-8 sequence at s[i] (a lead byte >= 0x80),
// or 0. The ranges are Unicode's table 3-7 (no overlong forms, no
// surrogates, nothing past U+10FFFF): the sequences nlohmann's lexer accepts.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto at = [&](std::size_t k) -> unsigned {
        return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
    };
    const auto in = [](unsigned c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
    const unsigned c = at(0);
    if (in(c, 0xC2, 0xDF)) return in(at(1), 0x80, 0xBF) ? 2 : 0;
    if (in(c, 0xE0, 0xEF)) {
        const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    }
    if (in(c, 0xF0, 0xF4)) {
        const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    }
    return 0;
}

// Reads the restricted JSON of decode_plain_alarm; any other shape fails.
class PlainScanner {
  public:
    explicit PlainScanner(std::string_view s) : s_(s) {}

    bool eat(char c) {
        skip_space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    bool at_end() {
        skip_space();
        return i_ == s_.size();
    }
    // A string with neither escapes nor control characters: its bytes are
    // its value.
    std::optional<std::string_view> string() {
        if (!eat('"')) return std::nullopt;
        const std::size_t start = i_;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') return s_.substr(start, i_++ - start);
            if (c == '\\' || c < 0x20) return std::nullopt;
            if (c < 0x80) {
                ++i_;
                continue;
            }
            const std::size_t n = utf8_sequence(s_, i_);
            if (n == 0) return std::nullopt;
            i_ += n;
        }
        return std::nullopt;
    }
    // true, false or null (then `value` is empty).
    bool literal(std::optional<bool>& value) {
        skip_space();
        const std::string_view rest = s_.substr(i_);
        if (rest.starts_with("true")) {
            value = true;
        } else if (rest.starts_with("false")) {
            value = false;
        } else if (rest.starts_with("null")) {
            value.reset();
        } else {
            return false;
        }
        i_ += value ? (*value ? 4 : 5) : 4;
        return true;
    }
    bool next_is_string() {
        skip_space();
        return i_ < s_.size() && s_[i_] == '"';
    }

  private:
    void skip_space() {
        while (i_ < s_.size() && is_json_space(s_[i_])) ++i_;
    }
    std::string_view s_;
    std::size_t i_ = 0;
};

// A field of the plain alarm: a string, or a literal (true/false/null).
struct PlainValue {
    bool present = false;
    bool is_string = false;
    std::string_view text;
    std::optional<bool> literal;  // when !is_string: true, false or nothing (null)
};

}  // namespace

std::optional<Alarm> decode_plain_alarm(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    enum Field { kType, kId, kKind, kAt, kDrill, kNote, kFields };
    static constexpr std::string_view kNames[kFields] = {"type", "id",    "kind",
                                                         "at",   "drill", "note"};
    PlainValue v[kFields];
    PlainScanner in(line);
    if (!in.eat('{')) return std::nullopt;
    if (!in.eat('}')) {
        do {
            const auto key = in.string();
            if (!key || !in.eat(':')) return std::nullopt;
            int f = 0;
            while (f < kFields && kNames[f] != *key) ++f;
            if (f == kFields || v[f].present) return std::nullopt;  // unknown or repeated
            v[f].present = true;
            if (in.next_is_string()) {
                const auto text = in.string();
                if (!text) return std::nullopt;
                v[f].is_string = true;
                v[f].text = *text;
            } else if (!in.literal(v[f].literal)) {
                return std::nullopt;  // a number, an object, an array, or not JSON
            }
        } while (in.eat(','));
        if (!in.eat('}')) return std::nullopt;
    }
    if (!in.at_end()) return std::nullopt;
    // The checks of decode_alarm, in the same terms; any failure is left to
    // the DOM decode, which words the error.
    const auto is_null = [](const PlainValue& x) { return !x.is_string && !x.literal; };
    if (!v[kType].is_string || v[kType].text != "alarm") return std::nullopt;
    if (!v[kId].is_string || !is_valid_id(v[kId].text)) return std::nullopt;
    Alarm a;
    a.id = v[kId].text;
    if (!v[kKind].is_string) return std::nullopt;
    a.kind = v[kKind].text;
    if (!is_alarm_kind(a.kind)) return std::nullopt;
    if (v[kAt].present && !is_null(v[kAt])) {
        if (!v[kAt].is_string) return std::nullopt;
        a.at = parse_iso8601(v[kAt].text);
        if (!a.at) return std::nullopt;
    }
    if (v[kDrill].present && !is_null(v[kDrill])) {
        if (v[kDrill].is_string) return std::nullopt;
        a.drill = *v[kDrill].literal;
    }
    if (v[kNote].present && !is_null(v[kNote])) {
        if (!v[kNote].is_string || utf8_length(v[kNote].text) > kMaxNoteLength) {
            return std::nullopt;
        }
        a.note = v[kNote].text;  // no NUL: a raw control character was refused above
    }
    return a;
}

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
    if (auto alarm = decode_plain_alarm(line)) return Frame{std::move(*alarm)};
    return decode_terminal_frame_dom(line);
}

DecodeResult decode_terminal_frame_dom(std::string_view line) {
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

namespace {

// Appends `s` as a JSON string, byte for byte as nlohmann's dump() writes
// it (two-character escapes where JSON has them, \u00xx for the other
// control characters, DEL as it is). False, with `out` unusable, for text
// with bytes past ASCII, which is left to nlohmann (its UTF-8 checks).
bool append_ascii_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80) return false;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
    return true;
}

}  // namespace

std::string encode_ack(std::string_view id, std::string_view incident) {
    // One per alarm: written directly, in the key order nlohmann's object
    // (a std::map) gives, so the bytes are those of the DOM encoding below.
    std::string out;
    out.reserve(38 + id.size() + incident.size());
    out += R"({"id":)";
    if (append_ascii_json_string(out, id)) {
        out += R"(,"incident":)";
        if (append_ascii_json_string(out, incident)) {
            out += R"(,"type":"ack"})";
            out += '\n';
            return out;
        }
    }
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
