// Fuzz target: the dispatch console's WebSocket commands (contract §4
// /ws/console, common/protocol/console_protocol). The input is one text
// message, decoded once for a steering role and once for a read-only role. A
// read-only sender never gets a command through; every answer the server
// would send (ok, error) is one JSON object whose `ref` is valid JSON.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "common/protocol/console_protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace huxiao;

bool is_json_object(const std::string& text) {
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    return !parsed.is_discarded() && parsed.is_object();
}

bool is_json(const std::string& text) {
    return !nlohmann::json::parse(text, nullptr, false).is_discarded();
}

void check_command(const console_protocol::Command& command) {
    HUXIAO_FUZZ_CHECK(is_json(command.ref));
    HUXIAO_FUZZ_CHECK(is_json_object(console_protocol::encode_ok(command.ref)));
    std::visit(
        [](const auto& e) {
            // The actor is the token's name, never a name from the message.
            if constexpr (requires { e.actor; }) HUXIAO_FUZZ_CHECK(e.actor == "desk-1");
            if constexpr (requires { e.incident; }) {
                HUXIAO_FUZZ_CHECK(!e.incident.empty() && e.incident.size() <= 64);
            }
            // What PostgreSQL would refuse never gets past the codec.
            const auto writable = [](const std::string& field) {
                return field.size() <= console_protocol::kMaxTextField &&
                       field.find('\0') == std::string::npos;
            };
            if constexpr (requires { e.incident; }) HUXIAO_FUZZ_CHECK(writable(e.incident));
            if constexpr (requires { e.reason; }) HUXIAO_FUZZ_CHECK(writable(e.reason));
            if constexpr (requires { e.note; }) HUXIAO_FUZZ_CHECK(writable(e.note));
            if constexpr (requires { e.text; }) HUXIAO_FUZZ_CHECK(writable(e.text));
            if constexpr (requires { e.unit; }) HUXIAO_FUZZ_CHECK(writable(e.unit));
        },
        command.event);
}

void check_error(const console_protocol::Error& error) {
    HUXIAO_FUZZ_CHECK(!error.code.empty());
    HUXIAO_FUZZ_CHECK(is_json(error.ref));
    HUXIAO_FUZZ_CHECK(is_json_object(console_protocol::encode_error(error)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto as_dispatcher = console_protocol::decode(
        text, {.name = "desk-1", .role = "dispatcher", .may_command = true});
    if (const auto* command = std::get_if<console_protocol::Command>(&as_dispatcher)) {
        check_command(*command);
    } else if (const auto* error = std::get_if<console_protocol::Error>(&as_dispatcher)) {
        check_error(*error);
    }

    const auto as_auditor = console_protocol::decode(
        text, {.name = "audit-1", .role = "auditor", .may_command = false});
    HUXIAO_FUZZ_CHECK(!std::holds_alternative<console_protocol::Command>(as_auditor));
    if (const auto* error = std::get_if<console_protocol::Error>(&as_auditor)) check_error(*error);
    return 0;
}
