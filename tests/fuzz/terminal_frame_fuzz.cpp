// Fuzz target: the school terminal's line protocol (contract §3,
// common/protocol/terminal_protocol). The input is what a terminal sends after
// the TLS handshake; it is cut into lines as TerminalSession does and each line
// is decoded. A decoded frame must keep the contract's promises and every
// reply the server would send must be one line of valid JSON.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "common/config/config.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace huxiao;

// One reply line: ends with the single '\n' and parses as a JSON object.
void check_reply(const std::string& line) {
    HUXIAO_FUZZ_CHECK(!line.empty() && line.back() == '\n');
    const std::string_view body(line.data(), line.size() - 1);
    HUXIAO_FUZZ_CHECK(body.find('\n') == std::string_view::npos);
    const auto parsed = nlohmann::json::parse(body, nullptr, false);
    HUXIAO_FUZZ_CHECK(!parsed.is_discarded() && parsed.is_object());
}

std::size_t code_points(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

void check_frame(const terminal::Frame& frame) {
    std::visit(
        [](const auto& f) {
            using T = std::decay_t<decltype(f)>;
            if constexpr (std::is_same_v<T, terminal::Hello>) {
                HUXIAO_FUZZ_CHECK(terminal::is_valid_id(f.terminal));
                HUXIAO_FUZZ_CHECK(f.proto == 1);
                HUXIAO_FUZZ_CHECK(f.fw.size() <= 64);
            } else if constexpr (std::is_same_v<T, terminal::Alarm>) {
                HUXIAO_FUZZ_CHECK(terminal::is_valid_id(f.id));
                HUXIAO_FUZZ_CHECK(is_alarm_kind(f.kind));
                HUXIAO_FUZZ_CHECK(code_points(f.note) <= terminal::kMaxNoteLength);
                check_reply(terminal::encode_ack(f.id, "I-20260901-0"));
            } else if constexpr (std::is_same_v<T, terminal::Heartbeat>) {
                check_reply(terminal::encode_heartbeat_ack(f.seq));
            } else {
                HUXIAO_FUZZ_CHECK(terminal::is_valid_id(f.id));
                HUXIAO_FUZZ_CHECK(terminal::is_valid_id(f.alarm));
                HUXIAO_FUZZ_CHECK(code_points(f.reason) <= terminal::kMaxNoteLength);
                check_reply(terminal::encode_ack(f.id, "I-20260901-0"));
            }
        },
        frame);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    while (!input.empty()) {
        const auto nl = input.find('\n');
        const std::string_view line = input.substr(0, nl);
        const auto result = terminal::decode_terminal_frame(line);
        // The alarm fast path decodes only what the DOM decode decodes alike.
        if (const auto plain = terminal::decode_plain_alarm(line)) {
            const auto dom = terminal::decode_terminal_frame_dom(line);
            const auto* frame = std::get_if<terminal::Frame>(&dom);
            const auto* alarm = frame ? std::get_if<terminal::Alarm>(frame) : nullptr;
            HUXIAO_FUZZ_CHECK(alarm != nullptr);
            HUXIAO_FUZZ_CHECK(alarm->id == plain->id && alarm->kind == plain->kind &&
                              alarm->at == plain->at && alarm->drill == plain->drill &&
                              alarm->note == plain->note);
        }
        if (const auto* frame = std::get_if<terminal::Frame>(&result)) {
            check_frame(*frame);
        } else {
            const auto& error = std::get<terminal::ProtocolError>(result);
            HUXIAO_FUZZ_CHECK(!error.message.empty());
            if (error.ref) HUXIAO_FUZZ_CHECK(terminal::is_valid_id(*error.ref));
            check_reply(terminal::encode_error(error));
        }
        if (nl == std::string_view::npos) break;
        input.remove_prefix(nl + 1);
    }
    return 0;
}
