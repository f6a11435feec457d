#include "common/protocol/dc09.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "common/protocol/dc09_cipher.hpp"

namespace huxiao::dc09 {

namespace {

constexpr std::size_t kCrcDigits = 4;
constexpr std::size_t kLengthDigits = 4;  // '0' and three hex digits
constexpr std::size_t kMaxSpan = 0xFFF;

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

std::optional<unsigned> parse_hex(std::string_view text) {
    unsigned value = 0;
    if (text.empty()) return std::nullopt;
    for (const char c : text) {
        if (!is_hex(c)) return std::nullopt;
        value = value * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return value;
}

std::string hex4(unsigned value) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04X", value & 0xFFFFu);
    return buf;
}

FrameError error(Rejection reason, std::string message) { return {reason, std::move(message)}; }

std::optional<Token> token_of(std::string_view id) {
    if (id == "SIA-DCS") return Token::sia_dcs;
    if (id == "ADM-CID") return Token::adm_cid;
    if (id == "NULL") return Token::null_message;
    if (id == "ACK") return Token::ack;
    if (id == "NAK") return Token::nak;
    if (id == "DUH") return Token::duh;
    return std::nullopt;
}

// Reads a prefix letter and 1–6 hex digits ("R1F", "L0").
std::optional<std::string> take_prefixed(std::string_view& rest, char letter) {
    if (rest.empty() || rest[0] != letter) return std::nullopt;
    std::size_t n = 1;
    while (n < rest.size() && n <= 6 && is_hex(rest[n])) ++n;
    if (n == 1) return std::nullopt;
    std::string out(rest.substr(0, n));
    rest.remove_prefix(n);
    return out;
}

bool bad_pad_char(char c) { return c == '|' || c == '[' || c == ']'; }

// Splits a plain body: "[data]" "[ext]"… "_timestamp".
std::variant<Message, FrameError> split_body(Envelope envelope, std::string_view body) {
    Message m;
    if (body.empty() || body[0] != '[') {
        return error(Rejection::unparsable, "no data block after the account");
    }
    const auto close = body.find(']');
    if (close == std::string_view::npos)
        return error(Rejection::unparsable, "data block not closed");
    m.data = std::string(body.substr(1, close - 1));
    if (m.data.find('[') != std::string::npos) {
        return error(Rejection::unparsable, "'[' inside the data block");
    }
    body.remove_prefix(close + 1);
    while (!body.empty() && body[0] == '[') {
        const auto end = body.find(']');
        if (end == std::string_view::npos) {
            return error(Rejection::unparsable, "extended data block not closed");
        }
        const std::string_view field = body.substr(1, end - 1);
        if (field.empty() || !is_upper(field[0]) || field.find('[') != std::string_view::npos) {
            return error(Rejection::unparsable, "extended data block without a type letter");
        }
        m.extended.push_back({field[0], std::string(field.substr(1))});
        body.remove_prefix(end + 1);
    }
    if (!body.empty()) {
        if (body[0] != '_') return error(Rejection::unparsable, "unexpected text after the data");
        m.timestamp = parse_timestamp(body);
        if (!m.timestamp) {
            return error(Rejection::unparsable,
                         "timestamp is not _HH:MM:SS,MM-DD-YYYY: \"" + std::string(body) + "\"");
        }
    }
    for (const auto& f : m.extended) {
        // Coordinates in decimal degrees, with a hemisphere letter or a sign:
        // "E114.3055", "114.3055", "W2.5", "-2.5".
        if (f.type != 'X' && f.type != 'Y') continue;
        std::string_view v = f.value;
        double sign = 1;
        const char positive = f.type == 'X' ? 'E' : 'N';
        const char negative = f.type == 'X' ? 'W' : 'S';
        if (!v.empty() && (v[0] == positive || v[0] == negative)) {
            if (v[0] == negative) sign = -1;
            v.remove_prefix(1);
        }
        double value = 0;
        const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
        const double limit = f.type == 'X' ? 180 : 90;
        if (ec != std::errc{} || ptr != v.data() + v.size() || v.empty() || value * sign > limit ||
            value * sign < -limit) {
            return error(Rejection::unparsable,
                         std::string("bad coordinate [") + f.type + f.value + "]");
        }
        (f.type == 'X' ? m.longitude : m.latitude) = value * sign;
    }
    m.envelope = std::move(envelope);
    return m;
}

std::string strip_account(std::string_view data, std::string_view account, bool& mismatch) {
    mismatch = false;
    if (!data.empty() && data[0] == '#') {
        const auto bar = data.find('|');
        if (bar == std::string_view::npos) {
            mismatch = data.substr(1) != account;
            return {};
        }
        mismatch = data.substr(1, bar - 1) != account;
        data.remove_prefix(bar + 1);
    }
    return std::string(data);
}

std::variant<std::vector<PanelEvent>, FrameError> parse_contact_id(std::string_view data) {
    // "QEEE GG CCC", spaces optional.
    std::string compact;
    for (const char c : data) {
        if (c != ' ') compact.push_back(c);
    }
    if (compact.size() != 9) {
        return error(Rejection::unparsable,
                     "Contact ID data is not QEEE GG CCC: \"" + std::string(data) + "\"");
    }
    PanelEvent e;
    e.protocol = Protocol::contact_id;
    e.qualifier = compact[0];
    e.code = compact.substr(1, 3);
    e.partition = compact.substr(4, 2);
    e.zone = compact.substr(6, 3);
    const bool ok = (e.qualifier == '1' || e.qualifier == '3' || e.qualifier == '6') &&
                    std::all_of(e.code.begin(), e.code.end(), is_digit) &&
                    std::all_of(e.partition.begin(), e.partition.end(), is_hex) &&
                    std::all_of(e.zone.begin(), e.zone.end(), is_hex);
    if (!ok) {
        return error(Rejection::unparsable,
                     "Contact ID data is not QEEE GG CCC: \"" + std::string(data) + "\"");
    }
    return std::vector<PanelEvent>{e};
}

std::variant<std::vector<PanelEvent>, FrameError> parse_sia(std::string_view data) {
    // "Nri1/BA501/BR501", "Nid12/PA", "NFA129": an optional 'N' (new event),
    // then '/'-separated items; a lower-case pair starts a modifier (ri area,
    // id user, pi peripheral, ti time), an upper-case pair an event code with
    // its address. Text after '^' is a comment.
    std::vector<PanelEvent> events;
    if (!data.empty() && data[0] == 'N') data.remove_prefix(1);
    std::string area;
    std::size_t start = 0;
    while (start <= data.size()) {
        auto end = data.find('/', start);
        if (end == std::string_view::npos) end = data.size();
        std::string_view item = data.substr(start, end - start);
        start = end + 1;
        if (const auto caret = item.find('^'); caret != std::string_view::npos) {
            item = item.substr(0, caret);
        }
        while (item.size() >= 2 && is_lower(item[0]) && is_lower(item[1])) {
            const bool is_area = item[0] == 'r' && item[1] == 'i';
            item.remove_prefix(2);
            std::size_t n = 0;
            while (n < item.size() && !is_upper(item[n]) && !is_lower(item[n])) ++n;
            if (is_area) area = std::string(item.substr(0, n));
            item.remove_prefix(n);
        }
        if (item.empty()) continue;
        if (item.size() < 2 || !is_upper(item[0]) || !is_upper(item[1])) {
            return error(Rejection::unparsable,
                         "SIA item is not a code: \"" + std::string(item) + "\"");
        }
        PanelEvent e;
        e.protocol = Protocol::sia;
        e.qualifier = 'N';
        e.code = std::string(item.substr(0, 2));
        e.zone = std::string(item.substr(2));
        e.partition = area;
        if (!std::all_of(e.zone.begin(), e.zone.end(), [](char c) { return c > ' ' && c < 127; })) {
            return error(Rejection::unparsable, "SIA address has control characters");
        }
        events.push_back(std::move(e));
        if (end == data.size()) break;
    }
    if (events.empty()) return error(Rejection::unparsable, "SIA data has no event code");
    return events;
}

int significance(Meaning m) {
    switch (m) {
        case Meaning::alarm:
            return 4;
        case Meaning::cancel:
            return 3;
        case Meaning::restore:
            return 2;
        case Meaning::event:
            return 1;
        case Meaning::test:
            return 0;
    }
    return 0;
}

std::string header_text(const Envelope& e) {
    return e.sequence + e.receiver + e.line + "#" + e.account;
}

Refused refuse(Rejection reason, std::string message, UnixMicros now, const Envelope* envelope) {
    Refused r;
    r.reason = reason;
    r.message = std::move(message);
    r.response = answered_with_nak(reason) ? make_nak(now) : make_duh(envelope);
    return r;
}

std::string compact_time(UnixMicros t) {
    // "20261130T121200" for event ids.
    std::string iso = format_iso_millis(t);  // 2026-11-30T12:12:00.000Z
    std::string out;
    for (std::size_t i = 0; i < 19 && i < iso.size(); ++i) {
        if (iso[i] != '-' && iso[i] != ':') out.push_back(iso[i]);
    }
    return out;
}

}  // namespace

std::uint16_t crc16_arc(std::string_view data) {
    std::uint16_t crc = 0;
    for (const char c : data) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001u)
                             : static_cast<std::uint16_t>(crc >> 1);
        }
    }
    return crc;
}

std::string_view to_string(Token token) {
    switch (token) {
        case Token::sia_dcs:
            return "SIA-DCS";
        case Token::adm_cid:
            return "ADM-CID";
        case Token::null_message:
            return "NULL";
        case Token::ack:
            return "ACK";
        case Token::nak:
            return "NAK";
        case Token::duh:
            return "DUH";
    }
    return "NULL";
}

std::string_view to_string(Rejection rejection) {
    switch (rejection) {
        case Rejection::bad_frame:
            return "bad_frame";
        case Rejection::bad_crc:
            return "bad_crc";
        case Rejection::bad_length:
            return "bad_length";
        case Rejection::stale_timestamp:
            return "stale_timestamp";
        case Rejection::unparsable:
            return "unparsable";
        case Rejection::unknown_account:
            return "unknown_account";
        case Rejection::plain_not_allowed:
            return "plain_not_allowed";
        case Rejection::undecryptable:
            return "undecryptable";
    }
    return "unparsable";
}

bool answered_with_nak(Rejection rejection) {
    return rejection == Rejection::bad_frame || rejection == Rejection::bad_crc ||
           rejection == Rejection::bad_length || rejection == Rejection::stale_timestamp;
}

std::variant<Envelope, FrameError> parse_envelope(std::string_view frame) {
    if (frame.size() < 2 || frame.front() != '\n' || frame.back() != '\r') {
        return error(Rejection::bad_frame, "a frame is <LF> … <CR>");
    }
    frame = frame.substr(1, frame.size() - 2);
    if (frame.size() < kCrcDigits + kLengthDigits) {
        return error(Rejection::bad_frame, "frame too short for its CRC and length");
    }
    const auto crc = parse_hex(frame.substr(0, kCrcDigits));
    const auto length = frame[kCrcDigits] == '0'
                            ? parse_hex(frame.substr(kCrcDigits + 1, kLengthDigits - 1))
                            : std::nullopt;
    const std::string_view span = frame.substr(kCrcDigits + kLengthDigits);
    if (!length) return error(Rejection::bad_length, "length field is not 0LLL (hex)");
    if (*length != span.size()) {
        return error(Rejection::bad_length, "length field says " + std::to_string(*length) +
                                                ", the message has " + std::to_string(span.size()));
    }
    if (!crc) return error(Rejection::bad_crc, "CRC field is not four hex digits");
    if (*crc != crc16_arc(span)) {
        return error(Rejection::bad_crc, "CRC " + std::string(frame.substr(0, kCrcDigits)) +
                                             " does not match " + hex4(crc16_arc(span)));
    }

    // "id" seq [Rrcvr] Lpref #acct body
    Envelope e;
    std::string_view rest = span;
    if (rest.empty() || rest[0] != '"') return error(Rejection::unparsable, "no quoted id");
    const auto quote = rest.find('"', 1);
    if (quote == std::string_view::npos) return error(Rejection::unparsable, "id not closed");
    std::string_view id = rest.substr(1, quote - 1);
    rest.remove_prefix(quote + 1);
    if (!id.empty() && id[0] == '*') {
        e.encrypted = true;
        id.remove_prefix(1);
    }
    const auto token = token_of(id);
    if (!token) return error(Rejection::unparsable, "unknown id \"" + std::string(id) + "\"");
    e.token = *token;
    if (rest.size() < 4 || !std::all_of(rest.begin(), rest.begin() + 4, is_digit)) {
        return error(Rejection::unparsable, "sequence number is not four digits");
    }
    e.sequence = std::string(rest.substr(0, 4));
    rest.remove_prefix(4);
    if (!rest.empty() && rest[0] == 'R') {
        auto receiver = take_prefixed(rest, 'R');
        if (!receiver) return error(Rejection::unparsable, "receiver is not R and 1-6 hex digits");
        e.receiver = *receiver;
    }
    auto line = take_prefixed(rest, 'L');
    if (!line) return error(Rejection::unparsable, "line prefix is not L and 1-6 hex digits");
    e.line = *line;
    // A NAK, and the DUH to a frame whose header could not be read, carry
    // the placeholder account "A0" instead of "#acct".
    const bool placeholder_account = e.token == Token::nak || e.token == Token::duh;
    if (placeholder_account && (rest.empty() || rest[0] != '#')) {
        // "L0A0": the account's 'A' and hex digits were swallowed by the
        // line's hex digits; give them back.
        const auto a = e.line.rfind('A');
        if (a != std::string::npos && a > 1) {
            const std::string tail = e.line.substr(a);
            e.line.resize(a);
            e.body = tail + std::string(rest);  // re-read below
            rest = e.body;
        }
    }
    if (rest.empty() || (rest[0] != '#' && !(placeholder_account && rest[0] == 'A'))) {
        return error(Rejection::unparsable, "no account (#acct)");
    }
    std::size_t n = 1;
    while (n < rest.size() && n <= 16 && is_hex(rest[n])) ++n;
    e.account = std::string(rest.substr(rest[0] == 'A' ? 0 : 1, rest[0] == 'A' ? n : n - 1));
    if (rest[0] == '#' && (n - 1 < 3 || n - 1 > 16)) {
        return error(Rejection::unparsable, "account is not 3-16 hex digits");
    }
    rest.remove_prefix(n);
    e.body = std::string(rest);  // (a copy: `rest` may point into the old body)
    return e;
}

std::variant<Message, FrameError> open_message(Envelope envelope, std::string_view key) {
    if (!envelope.encrypted) {
        const std::string body = envelope.body;
        return split_body(std::move(envelope), body);
    }
    std::string_view body = envelope.body;
    if (body.empty() || body[0] != '[') {
        return error(Rejection::undecryptable, "encrypted text must follow '['");
    }
    body.remove_prefix(1);
    const auto cipher = from_hex(body);
    if (!cipher || cipher->empty() || cipher->size() % 16 != 0) {
        return error(Rejection::undecryptable, "encrypted text is not whole AES blocks in hex");
    }
    const auto plain = aes_cbc_decrypt(key, *cipher);
    if (!plain) return error(Rejection::undecryptable, "key cannot decrypt this message");
    const auto bar = plain->find('|');
    if (bar == std::string::npos ||
        !std::all_of(plain->begin(), plain->begin() + static_cast<std::ptrdiff_t>(bar),
                     [](char c) { return c >= ' ' && c < 127 && !bad_pad_char(c); })) {
        return error(Rejection::undecryptable,
                     "decrypted text has no pad separator (wrong key for this account?)");
    }
    const std::string restored = "[" + plain->substr(bar + 1);
    return split_body(std::move(envelope), restored);
}

std::variant<std::vector<PanelEvent>, FrameError> parse_events(const Message& message) {
    const Envelope& e = message.envelope;
    if (e.token == Token::null_message) return std::vector<PanelEvent>{};
    if (e.token != Token::sia_dcs && e.token != Token::adm_cid) {
        return error(Rejection::unparsable,
                     "a receiver does not take \"" + std::string(to_string(e.token)) + "\"");
    }
    bool mismatch = false;
    const std::string data = strip_account(message.data, e.account, mismatch);
    if (mismatch) {
        return error(Rejection::unparsable, "account in the data block differs from the header");
    }
    if (data.empty()) return error(Rejection::unparsable, "message has no event");
    return e.token == Token::adm_cid ? parse_contact_id(data) : parse_sia(data);
}

std::string format_timestamp(UnixMicros t) {
    const std::string iso = format_iso_millis(t);  // YYYY-MM-DDTHH:MM:SS.mmmZ
    // "_HH:MM:SS,MM-DD-YYYY"
    return "_" + iso.substr(11, 8) + "," + iso.substr(5, 2) + "-" + iso.substr(8, 2) + "-" +
           iso.substr(0, 4);
}

std::optional<UnixMicros> parse_timestamp(std::string_view text) {
    // _HH:MM:SS,MM-DD-YYYY
    if (text.size() != 20 || text[0] != '_' || text[3] != ':' || text[6] != ':' || text[9] != ',' ||
        text[12] != '-' || text[15] != '-') {
        return std::nullopt;
    }
    auto num = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (!is_digit(text[i])) return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const int hh = num(1, 2), mi = num(4, 2), ss = num(7, 2);
    const int mo = num(10, 2), dd = num(13, 2), yy = num(16, 4);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59 || mo < 1 || mo > 12 ||
        dd < 1 || yy < 1970) {
        return std::nullopt;
    }
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
    if (dd > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt;
    const std::int64_t days =
        days_from_civil(yy, static_cast<unsigned>(mo), static_cast<unsigned>(dd));
    return ((days * 86400) + hh * 3600 + mi * 60 + ss) * kMicrosPerSecond;
}

std::string wrap_frame(std::string_view span) {
    char length[8];
    std::snprintf(length, sizeof length, "0%03X", static_cast<unsigned>(span.size() & kMaxSpan));
    return "\n" + hex4(crc16_arc(span)) + length + std::string(span) + "\r";
}

std::optional<std::string> make_body(std::string_view data,
                                     const std::vector<std::string>& extended,
                                     std::optional<UnixMicros> timestamp, std::string_view key,
                                     const PadSource& pad) {
    std::string tail(data);
    tail += "]";
    for (const auto& f : extended) tail += "[" + f + "]";
    if (timestamp) tail += format_timestamp(*timestamp);
    if (key.empty()) return "[" + tail;
    if (!is_valid_key_length(key.size())) return std::nullopt;
    // pad "|" tail, whole blocks; the pad is 1–16 characters long.
    const std::size_t pad_length = 16 - (tail.size() + 1) % 16;
    const std::size_t count = pad_length == 0 ? 16 : pad_length;
    std::string padding = pad(count);
    if (padding.size() != count ||
        std::any_of(padding.begin(), padding.end(), [](char c) { return bad_pad_char(c); })) {
        return std::nullopt;
    }
    const auto cipher = aes_cbc_encrypt(key, padding + "|" + tail);
    if (!cipher) return std::nullopt;
    return "[" + to_hex(*cipher);
}

std::optional<std::string> make_frame(const Header& header, std::string_view data,
                                      const std::vector<std::string>& extended,
                                      std::optional<UnixMicros> timestamp, std::string_view key,
                                      const PadSource& pad) {
    auto body = make_body(data, extended, timestamp, key, pad);
    if (!body) return std::nullopt;
    const std::string span = "\"" + std::string(key.empty() ? "" : "*") + header.id + "\"" +
                             header.sequence + header.receiver + header.line + "#" +
                             header.account + *body;
    return wrap_frame(span);
}

std::string make_nak(UnixMicros now) {
    return wrap_frame("\"NAK\"0000R0L0A0[]" + format_timestamp(now));
}

std::string make_duh(const Envelope* envelope) {
    if (envelope == nullptr || envelope->token == Token::nak) {
        return wrap_frame("\"DUH\"0000R0L0A0[]");
    }
    return wrap_frame("\"DUH\"" + header_text(*envelope) + "[]");
}

std::string make_ack(const Envelope& envelope, UnixMicros now, std::string_view key,
                     const PadSource& pad) {
    if (envelope.encrypted && !key.empty()) {
        if (auto body = make_body("", {}, now, key, pad)) {
            return wrap_frame("\"*ACK\"" + header_text(envelope) + *body);
        }
    }
    return wrap_frame("\"ACK\"" + header_text(envelope) + "[]");
}

void AccountDirectory::add(Account account) {
    const auto at =
        std::upper_bound(accounts_.begin(), accounts_.end(), account.account,
                         [](const std::string& a, const Account& b) { return a < b.account; });
    accounts_.insert(at, std::move(account));
}

const Account* AccountDirectory::find(const Envelope& envelope) const {
    // Accounts are hex: compare them in upper case, as the registry keeps them.
    std::string account = envelope.account;
    for (char& c : account) {
        if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    }
    auto [first, last] = std::equal_range(
        accounts_.begin(), accounts_.end(), account, [](const auto& a, const auto& b) {
            if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Account>) {
                return a.account < b;
            } else {
                return a < b.account;
            }
        });
    for (auto it = first; it != last; ++it) {
        if ((it->receiver.empty() || it->receiver == envelope.receiver) &&
            (it->line.empty() || it->line == envelope.line)) {
            return &*it;
        }
    }
    return nullptr;
}

Verdict receive(std::string_view frame, UnixMicros now, const AccountDirectory& accounts,
                const ReceiverSettings& settings, const PadSource& pad) {
    auto parsed = parse_envelope(frame);
    if (auto* e = std::get_if<FrameError>(&parsed)) {
        return refuse(e->reason, e->message, now, nullptr);
    }
    Envelope& envelope = std::get<Envelope>(parsed);
    if (envelope.token == Token::ack || envelope.token == Token::nak ||
        envelope.token == Token::duh) {
        return refuse(Rejection::unparsable, "a receiver does not take responses", now, &envelope);
    }
    const Account* account = accounts.find(envelope);
    if (account == nullptr) {
        return refuse(
            Rejection::unknown_account,
            "unknown account #" + envelope.account + " (" + envelope.receiver + envelope.line + ")",
            now, &envelope);
    }
    if (!envelope.encrypted && (!settings.allow_plain || !account->key.empty())) {
        return refuse(
            Rejection::plain_not_allowed,
            account->key.empty()
                ? "plain messages are not allowed (dc09_listener.allow_plain)"
                : "account #" + envelope.account + " has a key: messages must be encrypted",
            now, &envelope);
    }
    if (envelope.encrypted && account->key.empty()) {
        return refuse(Rejection::undecryptable, "account #" + envelope.account + " has no key", now,
                      &envelope);
    }
    auto opened = open_message(envelope, account->key);
    if (auto* e = std::get_if<FrameError>(&opened)) {
        return refuse(e->reason, e->message, now, &envelope);
    }
    Message& message = std::get<Message>(opened);
    if (envelope.encrypted && !message.timestamp) {
        return refuse(Rejection::unparsable, "encrypted messages must carry a timestamp", now,
                      &envelope);
    }
    if (message.timestamp) {
        const UnixMicros skew = *message.timestamp - now;
        if (skew > static_cast<UnixMicros>(settings.max_future_s) * kMicrosPerSecond ||
            -skew > static_cast<UnixMicros>(settings.max_past_s) * kMicrosPerSecond) {
            return refuse(Rejection::stale_timestamp,
                          "timestamp " + format_timestamp(*message.timestamp) +
                              " is outside the window around the receiver's " +
                              format_timestamp(now),
                          now, &envelope);
        }
    }
    auto events = parse_events(message);
    if (auto* e = std::get_if<FrameError>(&events)) {
        return refuse(e->reason, e->message, now, &envelope);
    }

    Accepted a;
    a.terminal = account->terminal;
    a.events = std::move(std::get<std::vector<PanelEvent>>(events));
    a.classification = {Meaning::test, {}};
    for (const auto& event : a.events) {
        Classification c = classify(event, settings.codes);
        if (!a.decisive || significance(c.meaning) > significance(a.classification.meaning)) {
            a.classification = std::move(c);
            a.decisive = event;
        }
    }
    // A retransmission repeats account, sequence number and timestamp. A
    // plain message without a timestamp has no stable identity: the receipt
    // second stands in (its retransmission joins the incident as a repeat).
    a.event_id = "dc09-" + envelope.account + "-" + envelope.sequence + "-" +
                 (message.timestamp ? compact_time(*message.timestamp)
                                    : "r" + compact_time(now - now % kMicrosPerSecond));
    a.ack = make_ack(envelope, now, account->key, pad);
    a.message = std::move(message);
    return a;
}

std::string RetransmissionMemory::event_id(const Accepted& accepted, UnixMicros now) {
    // Forget what is past the window, and the oldest when full. A message
    // refreshed since has a later entry in `order_`: its early ones only go.
    while (!order_.empty() && (now - order_.front().first > window_ || seen_.size() >= capacity_ ||
                               order_.size() >= 2 * capacity_)) {
        auto old = seen_.find(order_.front().second);
        if (old != seen_.end() && old->second.last == order_.front().first) seen_.erase(old);
        order_.pop_front();
    }
    const auto& e = accepted.message.envelope;
    std::string key = accepted.terminal;
    key.append(1, '\x1f').append(e.sequence).append(1, '\x1f').append(accepted.message.data);
    auto it = seen_.try_emplace(key, Seen{accepted.event_id, now}).first;
    it->second.last = now;
    order_.emplace_back(now, std::move(key));
    return it->second.event_id;
}

}  // namespace huxiao::dc09
