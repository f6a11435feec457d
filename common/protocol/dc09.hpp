// ANSI/SIA DC-09 framing (contract §9): the messages alarm panels send to a
// receiver and the receiver's answers.
//
//   <LF><crc><0LLL>"<id>"<seq>[R<rcvr>]L<pref>#<acct>[<data>][<ext>…][_HH:MM:SS,MM-DD-YYYY]<CR>
//
// crc is CRC-16/ARC and 0LLL the length (both as upper-case hex) of the span
// from the id's opening quote to the end of the timestamp. An id starting
// with '*' marks an encrypted message: everything after the account is
// `[` + hex(AES-CBC(pad "|" data-without-its-'[' … timestamp)), zero IV, the
// pad being random characters other than '|', '[' and ']' that make the text
// whole 16-byte blocks.
//
// `receive` is the receiver's whole decision for one frame, as a pure
// function of the frame, the clock, the account directory and the settings:
// either a response to send at once (NAK, DUH) or an accepted message with the
// ACK to send once the event is durable. No I/O; the clock and the pad's
// randomness are passed in.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/protocol/dc09_codes.hpp"
#include "common/util/time.hpp"

namespace huxiao::dc09 {

// CRC-16/ARC (poly 0x8005 reflected, init 0, no final xor): "123456789" → 0xBB3D.
std::uint16_t crc16_arc(std::string_view data);

enum class Token { sia_dcs, adm_cid, null_message, ack, nak, duh };
std::string_view to_string(Token token);

// The outer frame, after CRC and length were checked.
struct Envelope {
    bool encrypted = false;
    Token token = Token::null_message;
    std::string sequence;  // four decimal digits, as sent
    std::string receiver;  // "R1" as sent (with its 'R'), empty when absent
    std::string line;      // "L1" as sent (with its 'L')
    std::string account;   // hex digits after '#' (a NAK's "A0" account is kept as "A0")
    std::string body;      // everything after the account (cipher hex for encrypted messages)
};

struct ExtendedField {
    char type = 0;  // 'X' longitude, 'Y' latitude, 'H' event time, 'I' text, …
    std::string value;
};

// A message with its body decrypted and split.
struct Message {
    Envelope envelope;
    std::string data;  // the first […] block without its brackets, e.g. "#1234|1130 01 015"
    std::vector<ExtendedField> extended;
    std::optional<UnixMicros> timestamp;  // the sender's clock, UTC
    std::optional<double> latitude;       // from [Y…], degrees north
    std::optional<double> longitude;      // from [X…], degrees east
};

// Why a frame was refused. NAK for transmission problems and clocks, DUH for
// what the receiver cannot or may not understand.
enum class Rejection {
    bad_frame,          // not LF … CR, or no room for CRC and length: NAK
    bad_crc,            // NAK
    bad_length,         // NAK
    stale_timestamp,    // outside max_skew_s: NAK
    unparsable,         // DUH
    unknown_account,    // DUH
    plain_not_allowed,  // DUH (an account with a key, or allow_plain false)
    undecryptable,      // DUH (bad hex, wrong key, no pad separator)
};
std::string_view to_string(Rejection rejection);
bool answered_with_nak(Rejection rejection);

struct FrameError {
    Rejection reason = Rejection::unparsable;
    std::string message;
};

// Parses one frame from its LF to its CR (both included).
std::variant<Envelope, FrameError> parse_envelope(std::string_view frame);

// Decrypts (when the envelope is encrypted; `key` is raw bytes) and splits
// the body.
std::variant<Message, FrameError> open_message(Envelope envelope, std::string_view key);

// The events in a message's data block (none for NULL).
std::variant<std::vector<PanelEvent>, FrameError> parse_events(const Message& message);

// "_HH:MM:SS,MM-DD-YYYY" ↔ instant (UTC, whole seconds).
std::string format_timestamp(UnixMicros t);
std::optional<UnixMicros> parse_timestamp(std::string_view text);

// ---- building frames (responses, and messages for simulators and tests) ----

// Wraps a span (from the id's quote to the end of the timestamp) as
// <LF><crc><0LLL>span<CR>.
std::string wrap_frame(std::string_view span);

// Random characters for the encryption pad: `count` of them, none of '|',
// '[' or ']'. The shell passes a real random source; tests a fixed one.
using PadSource = std::function<std::string(std::size_t count)>;

// The plain or encrypted body for `data` (without brackets), extended fields
// (each with its type letter, without brackets) and an optional timestamp.
// Nothing when the key is unusable.
std::optional<std::string> make_body(std::string_view data,
                                     const std::vector<std::string>& extended,
                                     std::optional<UnixMicros> timestamp, std::string_view key,
                                     const PadSource& pad);

struct Header {
    std::string id;  // "SIA-DCS", "ADM-CID", "NULL", "ACK", …  ('*' is added when encrypted)
    std::string sequence;  // "0001"
    std::string receiver;  // "R1" or empty
    std::string line;      // "L1"
    std::string account;   // "1234"
};
// A complete frame; encrypted when `key` is not empty. Nothing for a bad key.
std::optional<std::string> make_frame(const Header& header, std::string_view data,
                                      const std::vector<std::string>& extended,
                                      std::optional<UnixMicros> timestamp, std::string_view key,
                                      const PadSource& pad);

// The receiver's answers.
std::string make_nak(UnixMicros now);
// DUH echoes the sender's header when it could be read.
std::string make_duh(const Envelope* envelope);
// ACK; encrypted (with the receiver's timestamp) when the message was.
std::string make_ack(const Envelope& envelope, UnixMicros now, std::string_view key,
                     const PadSource& pad);

// ---- the receiver's decision ----

// A DC-09 identity from the registry (contract §9).
struct Account {
    std::string terminal;
    std::string account;   // hex digits, as the panel sends them
    std::string receiver;  // "R1"; empty: any
    std::string line;      // "L1"; empty: any
    std::string key;       // raw AES key bytes; empty: plain only
};

// Finds the identity a message comes from: same account, and the same
// receiver and line where the identity names them.
class AccountDirectory {
  public:
    void add(Account account);
    const Account* find(const Envelope& envelope) const;
    std::size_t size() const { return accounts_.size(); }

  private:
    std::vector<Account> accounts_;  // sorted by account
};

struct ReceiverSettings {
    bool allow_plain = false;
    int max_future_s = 20;
    int max_past_s = 40;
    CodeOverrides codes;
};

// An accepted message: the shell records it and then sends `ack`.
struct Accepted {
    std::string terminal;
    Message message;
    std::vector<PanelEvent> events;
    // The most significant meaning among the events (alarm > cancel >
    // restore > event > test); test for NULL link tests.
    Classification classification;
    // The event that gave the classification, when there is one.
    std::optional<PanelEvent> decisive;
    // Stable for a retransmission (account, sequence number, timestamp), so
    // that it joins the same incident: usable as the alarm's event id.
    std::string event_id;
    std::string ack;
};

struct Refused {
    Rejection reason = Rejection::unparsable;
    std::string message;
    std::string response;  // NAK or DUH, ready to send
};

using Verdict = std::variant<Accepted, Refused>;

Verdict receive(std::string_view frame, UnixMicros now, const AccountDirectory& accounts,
                const ReceiverSettings& settings, const PadSource& pad);

// Retransmissions whose timestamp was renewed (some panels stamp every
// attempt) or that carry none: the same terminal, sequence number and data
// block within `window` of the last attempt are one event, so they keep the
// first attempt's event id (same incident, nothing new recorded). Sequence
// numbers advance with every new message and wrap at 9999, far beyond what
// max_frames_per_s lets a panel send in a window. Pure: time is passed in;
// at most `capacity` messages are remembered, the oldest forgotten first.
class RetransmissionMemory {
  public:
    RetransmissionMemory(UnixMicros window, std::size_t capacity)
        : window_(window), capacity_(capacity) {}

    // The event id `accepted` stands for: the first attempt's, or its own.
    std::string event_id(const Accepted& accepted, UnixMicros now);
    std::size_t size() const { return seen_.size(); }

  private:
    struct Seen {
        std::string event_id;
        UnixMicros last = 0;
    };
    UnixMicros window_;
    std::size_t capacity_;
    std::map<std::string, Seen> seen_;
    std::deque<std::pair<UnixMicros, std::string>> order_;  // (when, key), oldest first
};

}  // namespace huxiao::dc09
