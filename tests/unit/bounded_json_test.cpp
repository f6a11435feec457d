// The nesting limit on every JSON input (contract 1.1, common/protocol/bounded_json)
// and its use by each decoder of outside input.
#include "common/protocol/bounded_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "common/config/config.hpp"
#include "common/model/registry_import.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "common/protocol/unit_protocol.hpp"

namespace huxiao {
namespace {

using nlohmann::json;

// `depth` arrays inside each other: "[[[]]]" for 3.
std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

// An object whose "x" holds `depth` - 1 arrays, so the whole has `depth` levels.
std::string nested_in_object(std::size_t depth, const std::string& head = R"("type":"x")") {
    return "{" + head + R"(,"x":)" + nested_arrays(depth - 1) + "}";
}

JsonError error_of(std::string_view text, std::size_t max_depth = kMaxJsonDepth) {
    BoundedJson r = parse_bounded_json(text, max_depth);
    if (auto* e = std::get_if<JsonError>(&r)) return *e;
    ADD_FAILURE() << "expected an error for " << text.substr(0, 80);
    return {JsonError::Cause::syntax, ""};
}

TEST(BoundedJson, ParsesLikeNlohmann) {
    for (const char* text : {R"({"a":[1,2.5,{"b":null}],"c":"\u00e9","d":true})", "42", "\"s\"",
                             "  [ ]  ", "{}", R"({"n":-7,"u":18446744073709551615})"}) {
        BoundedJson r = parse_bounded_json(text);
        ASSERT_TRUE(std::holds_alternative<json>(r)) << text;
        EXPECT_EQ(std::get<json>(r), json::parse(text)) << text;
    }
}

TEST(BoundedJson, DepthIsCountedInContainers) {
    EXPECT_TRUE(std::holds_alternative<json>(parse_bounded_json("1", 0)));
    EXPECT_EQ(error_of("[]", 0).cause, JsonError::Cause::too_deep);
    EXPECT_TRUE(std::holds_alternative<json>(parse_bounded_json(R"({"a":[1]})", 2)));
    EXPECT_EQ(error_of(R"({"a":[[1]]})", 2).cause, JsonError::Cause::too_deep);
    // Siblings do not add up: depth is nesting, not the number of containers.
    EXPECT_TRUE(std::holds_alternative<json>(parse_bounded_json("[[],[],{},[[]]]", 3)));
}

TEST(BoundedJson, SixtyFourLevelsPassSixtyFiveDoNot) {
    BoundedJson ok = parse_bounded_json(nested_arrays(64));
    ASSERT_TRUE(std::holds_alternative<json>(ok));
    const JsonError e = error_of(nested_arrays(65));
    EXPECT_EQ(e.cause, JsonError::Cause::too_deep);
    EXPECT_EQ(e.message, "JSON nested deeper than 64 levels");
    EXPECT_EQ(error_of(nested_in_object(65)).cause, JsonError::Cause::too_deep);
}

TEST(BoundedJson, VeryDeepInputIsRefusedWithoutRecursion) {
    // Deep enough to overflow any stack if something recursed over it.
    const std::size_t depth = 1'000'000;
    EXPECT_EQ(error_of(nested_arrays(depth)).cause, JsonError::Cause::too_deep);
    // Unterminated: the limit is hit before the end of input is noticed.
    EXPECT_EQ(error_of(std::string(depth, '[')).cause, JsonError::Cause::too_deep);
    std::string objects;
    for (std::size_t i = 0; i < 100'000; ++i) objects += R"({"a":)";
    EXPECT_EQ(error_of(objects).cause, JsonError::Cause::too_deep);
}

TEST(BoundedJson, SyntaxErrorsSayWhere) {
    for (const char* bad : {"", "{", "[1] x", "{'a':1}", "[1,]", "{\"a\":1,}", "nul", "\"\xFF\"",
                            "\"\\ud800\"", "{\"a\" 1}"}) {
        const JsonError e = error_of(bad);
        EXPECT_EQ(e.cause, JsonError::Cause::syntax) << bad;
        EXPECT_EQ(e.message.rfind("not valid JSON: parse error at line 1, column ", 0), 0u)
            << e.message;
    }
}

// ---------------------------------------------------------------- every decoder uses it

TEST(BoundedJsonUse, TerminalFrameTooDeepIsBadFrame) {
    // 64 levels pass the limit (an unknown field is ignored, as always).
    const auto ok =
        terminal::decode_terminal_frame(nested_in_object(64, R"("type":"heartbeat","seq":3)"));
    ASSERT_TRUE(std::holds_alternative<terminal::Frame>(ok));
    EXPECT_EQ(std::get<terminal::Heartbeat>(std::get<terminal::Frame>(ok)).seq, 3);
    const auto r = terminal::decode_terminal_frame(
        nested_in_object(65, R"("type":"alarm","id":"A-1","kind":"fire")"));
    ASSERT_TRUE(std::holds_alternative<terminal::ProtocolError>(r));
    const auto& e = std::get<terminal::ProtocolError>(r);
    EXPECT_EQ(e.code, terminal::ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "frame holds JSON nested deeper than 64 levels");
    EXPECT_TRUE(terminal::keeps_connection(e.code));
}

TEST(BoundedJsonUse, UnitMessageTooDeepIsBadFrame) {
    const auto r = unit_protocol::decode(nested_in_object(100'000, R"("type":"position")"), "P-1");
    ASSERT_TRUE(std::holds_alternative<unit_protocol::Error>(r));
    const auto& e = std::get<unit_protocol::Error>(r);
    EXPECT_EQ(e.code, "bad_frame");
    EXPECT_EQ(e.message, "message holds JSON nested deeper than 64 levels");
}

TEST(BoundedJsonUse, ConfigTooDeepIsAConfigError) {
    try {
        parse_config(R"({"database":{"url":"postgresql://x/y"},"log":)" + nested_arrays(70) + "}",
                     "/etc/huxiao", std::nullopt);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "(top level): JSON nested deeper than 64 levels");
    }
}

TEST(BoundedJsonUse, RegistryImportTooDeepIsAnError) {
    const RegistryParse p = parse_registry(R"({"schools":)" + nested_arrays(10'000) + "}", {});
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0], "the file holds JSON nested deeper than 64 levels");
}

}  // namespace
}  // namespace huxiao
