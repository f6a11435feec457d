// The patrol unit protocol (contract §4, /ws/unit): one JSON text message per
// WebSocket frame. Decoding turns a message from the unit into a dispatch
// event (the unit's identity comes from its token, never from the message)
// or a protocol error with the contract's code; encoding writes the core's
// messages to the unit. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/dispatch/actions.hpp"
#include "common/dispatch/events.hpp"

namespace huxiao::unit_protocol {

struct Error {
    std::string code;  // bad_frame | unknown_type
    std::string message;
    std::optional<std::string> ref;  // the incident named, if any
};

using Decoded = std::variant<dispatch::Event, Error>;

Decoded decode(std::string_view text, const std::string& unit);

// offer, offer_withdrawn, incident_closed (contract §4).
std::string encode(const dispatch::UnitMessage& message);

std::string encode_error(const std::string& code, const std::string& message,
                         const std::optional<std::string>& ref);

}  // namespace huxiao::unit_protocol
