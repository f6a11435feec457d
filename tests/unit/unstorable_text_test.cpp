// Text and times PostgreSQL would refuse are refused where they enter: the
// terminal and unit decoders answer bad_frame with a reason, so nothing of the
// kind reaches the write queue (issue #8 item 6).
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "common/protocol/terminal_protocol.hpp"
#include "common/protocol/unit_protocol.hpp"

namespace huxiao {
namespace {

terminal::ProtocolError terminal_error(std::string_view line) {
    const auto r = terminal::decode_terminal_frame(line);
    if (const auto* e = std::get_if<terminal::ProtocolError>(&r)) return *e;
    ADD_FAILURE() << "expected an error for " << line;
    return {terminal::ErrorCode::unavailable, "", std::nullopt};
}

unit_protocol::Error unit_error(std::string_view text) {
    const auto r = unit_protocol::decode(text, "P-1");
    if (const auto* e = std::get_if<unit_protocol::Error>(&r)) return *e;
    ADD_FAILURE() << "expected an error for " << text;
    return {};
}

TEST(UnstorableText, AlarmNoteWithNulIsRefused) {
    const auto e =
        terminal_error(R"({"type":"alarm","id":"A-1","kind":"fire","note":"gate\u00002"})");
    EXPECT_EQ(e.code, terminal::ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"note\" must not contain NUL (\\u0000)");
    EXPECT_EQ(e.ref, "A-1");
}

TEST(UnstorableText, CancelReasonWithNulIsRefused) {
    const auto e =
        terminal_error(R"({"type":"cancel","id":"C-1","alarm":"A-1","reason":"\u0000"})");
    EXPECT_EQ(e.code, terminal::ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"reason\" must not contain NUL (\\u0000)");
    EXPECT_EQ(e.ref, "C-1");
}

TEST(UnstorableText, FirmwareWithNulIsRefused) {
    const auto e = terminal_error(R"({"type":"hello","terminal":"T-1","fw":"1.0\u0000"})");
    EXPECT_EQ(e.code, terminal::ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"fw\" must not contain NUL (\\u0000)");
}

TEST(UnstorableText, AlarmTimesOutsideYearsOneToNineThousandAreRefused) {
    for (const char* at :
         {"0000-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"}) {
        const auto e = terminal_error(
            std::string(R"({"type":"alarm","id":"A-1","kind":"fire","at":")") + at + "\"}");
        EXPECT_EQ(e.code, terminal::ErrorCode::bad_frame) << at;
        EXPECT_EQ(e.message, "field \"at\" is not an ISO-8601 time like 2026-09-01T07:30:00Z")
            << at;
    }
}

TEST(UnstorableText, InvalidUtf8NeverDecodes) {
    // nlohmann's parser refuses ill-formed UTF-8, so no decoder sees it.
    const std::string bad =
        std::string(R"({"type":"alarm","id":"A-1","kind":"fire","note":")") + "\xC3\x28" + "\"}";
    EXPECT_EQ(terminal_error(bad).code, terminal::ErrorCode::bad_frame);
    const std::string unit_bad =
        std::string(R"({"type":"clear","incident":"I-1","outcome":")") + "\xFF" + "\"}";
    EXPECT_EQ(unit_error(unit_bad).code, "bad_frame");
}

TEST(UnstorableText, UnitFreeTextWithNulIsRefused) {
    auto e = unit_error(R"({"type":"decline","incident":"I-1","reason":"busy\u0000"})");
    EXPECT_EQ(e.code, "bad_frame");
    EXPECT_EQ(e.message, "field \"reason\" must not contain NUL (\\u0000)");
    EXPECT_EQ(e.ref, "I-1");
    e = unit_error(R"({"type":"clear","incident":"I-1","outcome":"\u0000"})");
    EXPECT_EQ(e.code, "bad_frame");
    EXPECT_EQ(e.message, "field \"outcome\" must not contain NUL (\\u0000)");
}

TEST(UnstorableText, OrdinaryTextStillDecodes) {
    const auto r = unit_protocol::decode(
        R"({"type":"clear","incident":"I-1","outcome":"false alarm \\u0000 is only text"})", "P-1");
    EXPECT_TRUE(std::holds_alternative<dispatch::Event>(r));
}

}  // namespace
}  // namespace huxiao
