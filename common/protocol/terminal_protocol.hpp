// The school terminal protocol (contract §3): one JSON object per line.
// `decode_terminal_frame` turns one line (without its '\n') into a typed frame
// or a protocol error carrying the contract's error code; the `encode_*`
// functions build the server's frames (with their '\n'). Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/util/time.hpp"

namespace huxiao::terminal {

struct Hello {
    std::string terminal;
    int proto = 1;
    std::string fw;
};

struct Alarm {
    std::string id;
    std::string kind;
    std::optional<UnixMicros> at;  // terminal clock: recorded, never trusted
    bool drill = false;
    std::string note;
};

struct Heartbeat {
    std::int64_t seq = 0;
};

struct Cancel {
    std::string id;
    std::string alarm;
    std::string reason;
};

using Frame = std::variant<Hello, Alarm, Heartbeat, Cancel>;

// The error codes of contract §3.
enum class ErrorCode {
    bad_frame,
    frame_too_large,
    unknown_type,
    not_hello,
    unknown_terminal,
    identity_mismatch,
    rate_limited,
    unavailable,
};

std::string_view to_string(ErrorCode code);

// Whether the contract keeps the connection open after this error.
bool keeps_connection(ErrorCode code);

struct ProtocolError {
    ErrorCode code;
    std::string message;
    std::optional<std::string> ref;  // the offending frame's id, when it had one
};

using DecodeResult = std::variant<Frame, ProtocolError>;

constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxNoteLength = 500;  // characters (UTF-8 code points)

// Tries decode_plain_alarm first, then decode_terminal_frame_dom.
DecodeResult decode_terminal_frame(std::string_view line);

// The general decode of any frame through nlohmann's DOM: every error and
// its message comes from here.
DecodeResult decode_terminal_frame_dom(std::string_view line);

// The hot path (docs/performance.md §4.5): an `alarm` frame as terminals
// write it, one flat object whose only keys are type, id, kind, at, drill and
// note, each at most once, with string values free of escapes and control
// characters, true/false/null, and whitespace where JSON allows it. Such a
// frame, when valid, is decoded here without building a DOM. Anything else
// (another type, an unknown or repeated key, a number, an escape, an invalid
// field) gives nothing, and the DOM decode decides, with its errors. Whenever
// this returns an alarm, decode_terminal_frame_dom returns the same alarm
// (tests/unit/terminal_protocol_test.cpp and the fuzz target check it).
std::optional<Alarm> decode_plain_alarm(std::string_view line);

// Terminal ids and event ids: 1–64 printable ASCII characters.
bool is_valid_id(std::string_view id);

std::string encode_welcome(UnixMicros server_time, int heartbeat_s);
std::string encode_ack(std::string_view id, std::string_view incident);
std::string encode_heartbeat_ack(std::int64_t seq);
std::string encode_error(const ProtocolError& error);

struct StatusPush {
    std::string incident;
    std::string state;  // received | dispatched | accepted | en_route | on_scene | resolved | ...
    std::optional<std::string> unit;
    std::optional<int> eta_s;
    bool drill = false;
    UnixMicros at = 0;
};
std::string encode_status(const StatusPush& status);

}  // namespace huxiao::terminal
