// Fuzz target: the patrol unit's WebSocket messages (contract §4 /ws/unit,
// common/protocol/unit_protocol). The input is one text message. A decoded
// event must carry the unit of the token (never one named in the message) and
// values the dispatcher can trust; an error must encode as valid JSON.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "common/protocol/unit_protocol.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace huxiao;

const std::string kUnit = "P-12";

void check_event(const dispatch::Event& event) {
    std::visit(
        [](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (requires { e.unit; }) HUXIAO_FUZZ_CHECK(e.unit == kUnit);
            if constexpr (std::is_same_v<T, dispatch::UnitPosition>) {
                HUXIAO_FUZZ_CHECK(std::isfinite(e.lat) && e.lat >= -90 && e.lat <= 90);
                HUXIAO_FUZZ_CHECK(std::isfinite(e.lon) && e.lon >= -180 && e.lon <= 180);
            }
            if constexpr (requires { e.incident; }) {
                HUXIAO_FUZZ_CHECK(!e.incident.empty() && e.incident.size() <= 64);
            }
        },
        event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto decoded = unit_protocol::decode(text, kUnit);
    if (const auto* event = std::get_if<dispatch::Event>(&decoded)) {
        check_event(*event);
    } else {
        const auto& error = std::get<unit_protocol::Error>(decoded);
        HUXIAO_FUZZ_CHECK(error.code == "bad_frame" || error.code == "unknown_type");
        const auto reply = nlohmann::json::parse(
            unit_protocol::encode_error(error.code, error.message, error.ref), nullptr, false);
        HUXIAO_FUZZ_CHECK(!reply.is_discarded() && reply.is_object());
    }
    return 0;
}
