// The dispatch console protocol (contract §4, /ws/console; 1.1: `id`/`ref`):
// one JSON text message per WebSocket frame. Decoding turns a console's
// command into a dispatch event, a snapshot request or an error with the
// contract's code; encoding writes the snapshot, live events and answers.
// Pure: no I/O, no clock (times are passed in), no knowledge of sessions.
// Who may see what (districts) is decided by the caller: the snapshot view
// handed to encode_snapshot is already filtered.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/dispatch/events.hpp"
#include "common/util/time.hpp"

namespace huxiao::console_protocol {

// The sender of a command, as its token says: the name becomes the actor in
// the timeline; only steering roles (dispatcher, admin) may command.
struct Sender {
    std::string name;
    std::string role;
    bool may_command = false;
};

// `ref` is JSON text (the command's `id`, else its `incident`, else null):
// consoles may use any JSON value as their `id`.
struct Command {
    dispatch::Event event;
    std::string ref = "null";
};
struct SnapshotRequest {
    bool with_schools = true;  // false: `{"type":"snapshot","schools":false}`
};
struct Error {
    std::string code;  // bad_frame | unknown_type | forbidden | not_found | ...
    std::string message;
    std::string ref = "null";
};

using Decoded = std::variant<Command, SnapshotRequest, Error>;

// Longest free text accepted in a command (note text, cancel reason, resolve note).
constexpr std::size_t kMaxTextField = 2000;

Decoded decode(std::string_view text, const Sender& sender);

std::string encode_ok(const std::string& ref);
std::string encode_error(const Error& error);

// A live incident event (contract §4 `event`). `drill` and `state` are sent
// for timeline events of the core, not for intake's own events.
struct Event {
    std::string incident;
    std::string event;  // timeline type: alarm_received, offer_sent, resolved, ...
    UnixMicros at = 0;
    std::string actor;
    std::string unit;  // "" -> null
    std::string school;
    std::optional<bool> drill;
    std::optional<std::string> state;
};
std::string encode_event(const Event& event, const nlohmann::json& details);

// A terminal went online or offline (supervision).
std::string encode_terminal(const std::string& terminal, const std::string& school, bool online,
                            UnixMicros at);

// The snapshot as a plain view: copied from the dispatcher's state (cheap),
// encoded elsewhere (the expensive part), so that building it never holds the
// dispatcher's strand for long.
struct SnapshotView {
    struct You {
        std::string name;
        std::string role;
        std::vector<std::string> districts;
    };
    struct Offer {
        std::string unit;
        int eta_s = 0;
        long long expires_in_s = 0;
    };
    struct Incident {
        std::string id;
        std::string school;
        std::string school_name;
        std::string district;
        double lat = 0;
        double lon = 0;
        std::string kind;
        bool drill = false;
        std::string state;
        UnixMicros received_at = 0;
        bool acknowledged = false;
        std::vector<std::string> units;
        std::vector<Offer> offers;
    };
    struct Unit {
        std::string id;
        std::string callsign;
        std::string district;
        double lat = 0;
        double lon = 0;
        std::string status;    // offline | out_of_service | busy | available
        std::string incident;  // "" -> null
    };
    struct OfflineTerminal {
        std::string id;
        std::string school;
        UnixMicros last_seen = 0;  // 0 -> null
    };
    struct School {
        std::string id;
        std::string name;
        std::string district;
        double lat = 0;
        double lon = 0;
    };
    struct District {
        std::string id;
        std::string name;
    };

    UnixMicros server_time = 0;
    You you;
    std::vector<Incident> incidents;
    std::vector<Unit> units;
    std::size_t terminals_online = 0;
    std::vector<OfflineTerminal> terminals_offline;
    bool with_schools = true;  // false: no `schools`, no `districts`
    std::vector<School> schools;
    std::vector<District> districts;
};
std::string encode_snapshot(const SnapshotView& view);

}  // namespace huxiao::console_protocol
