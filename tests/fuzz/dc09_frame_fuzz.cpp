// Fuzz target: one SIA DC-09 frame as an alarm panel sends it over TCP or
// UDP (contract §9, common/protocol/dc09). The input is run through the
// receiver's whole decision, `receive`, with a directory of one keyed and one
// plain account. Whatever the bytes, the answer is a frame the panel can
// parse: an ACK (encrypted when the message was) for an accepted message, a
// NAK exactly for transmission problems and stale clocks, a DUH otherwise.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/protocol/dc09.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace huxiao;

constexpr UnixMicros kNow = 1'796'040'001 * kMicrosPerSecond;  // 2026-11-30 12:00:01 UTC

const dc09::AccountDirectory& accounts() {
    static const dc09::AccountDirectory directory = [] {
        dc09::AccountDirectory d;
        const std::string key{"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
                              16};
        d.add({"T-0001", "1234", "R1", "L1", key});
        d.add({"T-0002", "5678", "", "", ""});
        return d;
    }();
    return directory;
}

std::string fixed_pad(std::size_t n) { return std::string(n, 'z'); }

dc09::Envelope parsed_response(const std::string& frame) {
    const auto envelope = dc09::parse_envelope(frame);
    HUXIAO_FUZZ_CHECK(std::holds_alternative<dc09::Envelope>(envelope));
    return std::get<dc09::Envelope>(envelope);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view frame(reinterpret_cast<const char*>(data), size);
    dc09::ReceiverSettings settings;
    settings.allow_plain = true;

    const auto verdict = dc09::receive(frame, kNow, accounts(), settings, fixed_pad);
    if (const auto* accepted = std::get_if<dc09::Accepted>(&verdict)) {
        HUXIAO_FUZZ_CHECK(accepted->terminal == "T-0001" || accepted->terminal == "T-0002");
        HUXIAO_FUZZ_CHECK(!accepted->event_id.empty());
        const auto ack = parsed_response(accepted->ack);
        HUXIAO_FUZZ_CHECK(ack.token == dc09::Token::ack);
        HUXIAO_FUZZ_CHECK(ack.encrypted == accepted->message.envelope.encrypted);
        HUXIAO_FUZZ_CHECK(ack.sequence == accepted->message.envelope.sequence);
        // A keyed account never has a plain message accepted.
        if (accepted->terminal == "T-0001") HUXIAO_FUZZ_CHECK(accepted->message.envelope.encrypted);

        dc09::RetransmissionMemory memory(120 * kMicrosPerSecond, 4);
        const auto first = memory.event_id(*accepted, kNow);
        HUXIAO_FUZZ_CHECK(memory.event_id(*accepted, kNow + kMicrosPerSecond) == first);
    } else {
        const auto& refused = std::get<dc09::Refused>(verdict);
        HUXIAO_FUZZ_CHECK(!refused.message.empty());
        const auto response = parsed_response(refused.response);
        HUXIAO_FUZZ_CHECK(
            response.token ==
            (dc09::answered_with_nak(refused.reason) ? dc09::Token::nak : dc09::Token::duh));
    }
    return 0;
}
