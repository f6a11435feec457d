// The school terminal protocol codec (contract §3, common/protocol).
#include "common/protocol/terminal_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/util/time.hpp"

namespace huxiao::terminal {
namespace {

using nlohmann::json;

constexpr UnixMicros kExample = 1'788'247'800LL * kMicrosPerSecond;  // 2026-09-01T07:30:00Z

template <class T>
T decode_as(std::string_view line) {
    const DecodeResult r = decode_terminal_frame(line);
    if (const auto* err = std::get_if<ProtocolError>(&r)) {
        ADD_FAILURE() << "unexpected error for " << line << ": " << to_string(err->code) << " "
                      << err->message;
        return T{};
    }
    const Frame& f = std::get<Frame>(r);
    if (!std::holds_alternative<T>(f)) {
        ADD_FAILURE() << "decoded to another frame type: " << line;
        return T{};
    }
    return std::get<T>(f);
}

ProtocolError error_of(std::string_view line) {
    const DecodeResult r = decode_terminal_frame(line);
    if (const auto* err = std::get_if<ProtocolError>(&r)) return *err;
    ADD_FAILURE() << "expected an error for " << line;
    return {ErrorCode::unavailable, "", std::nullopt};
}

// Asserts an encoder's output is exactly one '\n'-terminated line of JSON and
// returns it parsed.
json one_line(const std::string& encoded) {
    EXPECT_FALSE(encoded.empty());
    EXPECT_EQ(encoded.back(), '\n');
    EXPECT_EQ(std::count(encoded.begin(), encoded.end(), '\n'), 1) << encoded;
    EXPECT_EQ(encoded.find('\r'), std::string::npos);
    return json::parse(encoded);  // throws (fails the test) if not JSON
}

std::string alarm_with(const std::string& extra_fields) {
    return R"({"type":"alarm","id":"A-17","kind":"assault")" + extra_fields + "}";
}

// ---------------------------------------------------------------- hello

TEST(DecodeHello, TheContractExample) {
    const Hello h =
        decode_as<Hello>(R"({"type":"hello","terminal":"T-0001","proto":1,"fw":"2.3.1"})");
    EXPECT_EQ(h.terminal, "T-0001");
    EXPECT_EQ(h.proto, 1);
    EXPECT_EQ(h.fw, "2.3.1");
}

TEST(DecodeHello, ProtoAndFirmwareAreOptional) {
    const Hello h = decode_as<Hello>(R"({"type":"hello","terminal":"T-0001"})");
    EXPECT_EQ(h.terminal, "T-0001");
    EXPECT_EQ(h.proto, 1);
    EXPECT_EQ(h.fw, "");
}

TEST(DecodeHello, TerminalIsRequiredAndMustBeAnId) {
    auto e = error_of(R"({"type":"hello","proto":1})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "missing field \"terminal\"");
    EXPECT_FALSE(e.ref.has_value());

    e = error_of(R"({"type":"hello","terminal":17})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"terminal\" must be a string");

    e = error_of(R"({"type":"hello","terminal":""})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"terminal\" must be 1-64 printable ASCII characters");

    e = error_of(R"({"type":"hello","terminal":"T 1"})");
    EXPECT_EQ(e.message, "field \"terminal\" must be 1-64 printable ASCII characters");
}

TEST(DecodeHello, UnsupportedOrMalformedProto) {
    auto e = error_of(R"({"type":"hello","terminal":"T-0001","proto":2})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "unsupported protocol version 2 (this server speaks 1)");

    e = error_of(R"({"type":"hello","terminal":"T-0001","proto":"1"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"proto\" must be an integer");

    e = error_of(R"({"type":"hello","terminal":"T-0001","proto":1.5})");
    EXPECT_EQ(e.message, "field \"proto\" must be an integer");
}

TEST(DecodeHello, FirmwareMustBeAShortString) {
    auto e = error_of(R"({"type":"hello","terminal":"T-0001","fw":231})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"fw\" must be a string of at most 64 bytes");

    const std::string fw64(64, 'v');
    EXPECT_EQ(decode_as<Hello>(R"({"type":"hello","terminal":"T-1","fw":")" + fw64 + "\"}").fw,
              fw64);
    e = error_of(R"({"type":"hello","terminal":"T-1","fw":")" + fw64 + "v\"}");
    EXPECT_EQ(e.message, "field \"fw\" must be a string of at most 64 bytes");
}

// ---------------------------------------------------------------- alarm

TEST(DecodeAlarm, TheContractExample) {
    const Alarm a = decode_as<Alarm>(
        R"({"type":"alarm","id":"A-17","kind":"assault","at":"2026-09-01T07:30:00Z","drill":false,"note":"gate 2"})");
    EXPECT_EQ(a.id, "A-17");
    EXPECT_EQ(a.kind, "assault");
    ASSERT_TRUE(a.at.has_value());
    EXPECT_EQ(*a.at, kExample);
    EXPECT_FALSE(a.drill);
    EXPECT_EQ(a.note, "gate 2");
}

TEST(DecodeAlarm, OptionalFieldsDefault) {
    const Alarm a = decode_as<Alarm>(R"({"type":"alarm","id":"A-1","kind":"fire"})");
    EXPECT_EQ(a.id, "A-1");
    EXPECT_EQ(a.kind, "fire");
    EXPECT_FALSE(a.at.has_value());
    EXPECT_FALSE(a.drill);
    EXPECT_EQ(a.note, "");
}

TEST(DecodeAlarm, NullOptionalFieldsMeanAbsent) {
    const Alarm a = decode_as<Alarm>(alarm_with(R"(,"at":null,"drill":null,"note":null)"));
    EXPECT_FALSE(a.at.has_value());
    EXPECT_FALSE(a.drill);
    EXPECT_EQ(a.note, "");
}

TEST(DecodeAlarm, DrillTrue) {
    EXPECT_TRUE(decode_as<Alarm>(alarm_with(R"(,"drill":true)")).drill);
}

TEST(DecodeAlarm, EveryContractKindIsAccepted) {
    for (const char* kind : {"intrusion", "assault", "medical", "fire", "bullying", "self_harm",
                             "drowning", "traffic", "other"}) {
        const std::string line =
            std::string(R"({"type":"alarm","id":"A-1","kind":")") + kind + "\"}";
        EXPECT_EQ(decode_as<Alarm>(line).kind, kind);
    }
}

TEST(DecodeAlarm, AtWithOffsetAndFraction) {
    const Alarm a = decode_as<Alarm>(alarm_with(R"(,"at":"2026-09-01T15:30:00.123456+08:00")"));
    ASSERT_TRUE(a.at.has_value());
    EXPECT_EQ(*a.at, kExample + 123'456);
}

TEST(DecodeAlarm, MissingOrBadIdIsBadFrame) {
    auto e = error_of(R"({"type":"alarm","kind":"fire"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "missing field \"id\"");
    EXPECT_FALSE(e.ref.has_value());

    e = error_of(R"({"type":"alarm","id":17,"kind":"fire"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"id\" must be a string");
    EXPECT_FALSE(e.ref.has_value());

    e = error_of(R"({"type":"alarm","id":"","kind":"fire"})");
    EXPECT_EQ(e.message, "field \"id\" must be 1-64 printable ASCII characters");
    EXPECT_FALSE(e.ref.has_value());  // an invalid id is not echoed back
}

TEST(DecodeAlarm, MissingKindCarriesTheRef) {
    const auto e = error_of(R"({"type":"alarm","id":"A-17"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "missing field \"kind\"");
    EXPECT_EQ(e.ref, "A-17");
}

TEST(DecodeAlarm, UnknownOrWrongTypeKind) {
    for (const char* kind : {R"("robbery")", R"("Fire")", R"("")", "3", "null", R"(["fire"])"}) {
        const auto e = error_of(std::string(R"({"type":"alarm","id":"A-17","kind":)") + kind + "}");
        EXPECT_EQ(e.code, ErrorCode::bad_frame) << kind;
        EXPECT_EQ(e.message,
                  "field \"kind\" must be one of intrusion, assault, medical, fire, bullying, "
                  "self_harm, drowning, traffic, other")
            << kind;
        EXPECT_EQ(e.ref, "A-17") << kind;
    }
}

TEST(DecodeAlarm, AtIsValidatedWhenPresent) {
    auto e = error_of(alarm_with(R"(,"at":1788247800)"));
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"at\" must be an ISO-8601 string");
    EXPECT_EQ(e.ref, "A-17");

    for (const char* bad :
         {"yesterday", "2026-09-01", "2026-09-01T07:30:00", "2026-02-30T07:30:00Z", ""}) {
        e = error_of(alarm_with(R"(,"at":")" + std::string(bad) + "\""));
        EXPECT_EQ(e.code, ErrorCode::bad_frame) << bad;
        EXPECT_EQ(e.message, "field \"at\" is not an ISO-8601 time like 2026-09-01T07:30:00Z")
            << bad;
        EXPECT_EQ(e.ref, "A-17") << bad;
    }
}

TEST(DecodeAlarm, DrillMustBeBoolean) {
    for (const char* bad : {"0", "1", R"("true")", R"("false")"}) {
        const auto e = error_of(alarm_with(std::string(R"(,"drill":)") + bad));
        EXPECT_EQ(e.code, ErrorCode::bad_frame) << bad;
        EXPECT_EQ(e.message, "field \"drill\" must be true or false") << bad;
        EXPECT_EQ(e.ref, "A-17") << bad;
    }
}

TEST(DecodeAlarm, NoteMustBeAString) {
    const auto e = error_of(alarm_with(R"(,"note":42)"));
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"note\" must be a string");
    EXPECT_EQ(e.ref, "A-17");
}

TEST(DecodeAlarm, NoteOfFiveHundredAsciiCharactersIsAcceptedAndOneMoreIsNot) {
    const std::string note500(500, 'x');
    EXPECT_EQ(decode_as<Alarm>(alarm_with(R"(,"note":")" + note500 + "\"")).note, note500);

    const auto e = error_of(alarm_with(R"(,"note":")" + note500 + "x\""));
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"note\" is longer than 500 characters");
    EXPECT_EQ(e.ref, "A-17");
}

TEST(DecodeAlarm, NoteLengthCountsCodePointsNotBytes) {
    // "门" (U+95E8) is 3 bytes in UTF-8; 500 of them are 1500 bytes but 500 characters.
    std::string cjk500;
    for (int i = 0; i < 500; ++i) cjk500 += "\xE9\x97\xA8";
    ASSERT_EQ(cjk500.size(), 1500u);
    EXPECT_EQ(decode_as<Alarm>(alarm_with(R"(,"note":")" + cjk500 + "\"")).note, cjk500);
    EXPECT_EQ(error_of(alarm_with(R"(,"note":")" + cjk500 + "\xE9\x97\xA8\"")).message,
              "field \"note\" is longer than 500 characters");

    // A 4-byte code point (U+1F6A8, police light) counts once too.
    std::string emoji500;
    for (int i = 0; i < 500; ++i) emoji500 += "\xF0\x9F\x9A\xA8";
    EXPECT_EQ(decode_as<Alarm>(alarm_with(R"(,"note":")" + emoji500 + "\"")).note, emoji500);
}

TEST(DecodeAlarm, NoteWrittenWithJsonEscapesCountsDecodedCharacters) {
    // 500 escaped "\u95e8" sequences decode to 500 characters.
    std::string escaped;
    for (int i = 0; i < 500; ++i) escaped += "\\u95e8";
    const Alarm a = decode_as<Alarm>(alarm_with(R"(,"note":")" + escaped + "\""));
    EXPECT_EQ(a.note.size(), 1500u);
}

// ---------------------------------------------------------------- heartbeat

TEST(DecodeHeartbeat, CarriesTheSequenceNumber) {
    EXPECT_EQ(decode_as<Heartbeat>(R"({"type":"heartbeat","seq":42})").seq, 42);
    EXPECT_EQ(decode_as<Heartbeat>(R"({"type":"heartbeat","seq":9007199254740993})").seq,
              9007199254740993LL);
    EXPECT_EQ(decode_as<Heartbeat>(R"({"type":"heartbeat","seq":-1})").seq, -1);
}

TEST(DecodeHeartbeat, SequenceIsOptional) {
    EXPECT_EQ(decode_as<Heartbeat>(R"({"type":"heartbeat"})").seq, 0);
}

TEST(DecodeHeartbeat, SequenceMustBeAnInteger) {
    for (const char* bad : {R"("42")", "4.2", "true", "null"}) {
        const auto e = error_of(std::string(R"({"type":"heartbeat","seq":)") + bad + "}");
        EXPECT_EQ(e.code, ErrorCode::bad_frame) << bad;
        EXPECT_EQ(e.message, "field \"seq\" must be an integer") << bad;
        EXPECT_FALSE(e.ref.has_value());
    }
}

// ---------------------------------------------------------------- cancel

TEST(DecodeCancel, TheContractExample) {
    const Cancel c = decode_as<Cancel>(
        R"({"type":"cancel","id":"C-3","alarm":"A-17","reason":"pressed by mistake"})");
    EXPECT_EQ(c.id, "C-3");
    EXPECT_EQ(c.alarm, "A-17");
    EXPECT_EQ(c.reason, "pressed by mistake");
}

TEST(DecodeCancel, ReasonIsOptional) {
    EXPECT_EQ(decode_as<Cancel>(R"({"type":"cancel","id":"C-3","alarm":"A-17"})").reason, "");
    EXPECT_EQ(
        decode_as<Cancel>(R"({"type":"cancel","id":"C-3","alarm":"A-17","reason":null})").reason,
        "");
}

TEST(DecodeCancel, MissingOrBadAlarmCarriesTheRef) {
    auto e = error_of(R"({"type":"cancel","id":"C-3"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "missing field \"alarm\"");
    EXPECT_EQ(e.ref, "C-3");

    e = error_of(R"({"type":"cancel","id":"C-3","alarm":17})");
    EXPECT_EQ(e.message, "field \"alarm\" must be a string");
    EXPECT_EQ(e.ref, "C-3");

    e = error_of(R"({"type":"cancel","id":"C-3","alarm":"A 17"})");
    EXPECT_EQ(e.message, "field \"alarm\" must be 1-64 printable ASCII characters");
    EXPECT_EQ(e.ref, "C-3");
}

TEST(DecodeCancel, MissingIdHasNoRef) {
    const auto e = error_of(R"({"type":"cancel","alarm":"A-17"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "missing field \"id\"");
    EXPECT_FALSE(e.ref.has_value());
}

TEST(DecodeCancel, ReasonIsValidated) {
    auto e = error_of(R"({"type":"cancel","id":"C-3","alarm":"A-17","reason":false})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"reason\" must be a string");
    EXPECT_EQ(e.ref, "C-3");

    const std::string long_reason(501, 'r');
    e = error_of(R"({"type":"cancel","id":"C-3","alarm":"A-17","reason":")" + long_reason + "\"}");
    EXPECT_EQ(e.message, "field \"reason\" is longer than 500 characters");
    EXPECT_EQ(e.ref, "C-3");
}

// ---------------------------------------------------------------- frame-level errors

TEST(DecodeFrame, InvalidJson) {
    for (const char* bad : {"", "   ", "{", "not json", R"({"type":"heartbeat")",
                            R"({"type":"heartbeat"} {"type":"heartbeat"})",
                            R"({'type':'heartbeat'})", R"({"type":"heartbeat",})"}) {
        const auto e = error_of(bad);
        EXPECT_EQ(e.code, ErrorCode::bad_frame) << bad;
        EXPECT_EQ(e.message, "frame is not valid JSON") << bad;
        EXPECT_FALSE(e.ref.has_value()) << bad;
    }
}

TEST(DecodeFrame, InvalidUtf8IsNotValidJson) {
    for (const std::string& bad :
         {std::string("{\"type\":\"alarm\",\"id\":\"A-1\",\"kind\":\"fire\",\"note\":\"\xFF\"}"),
          std::string("{\"type\":\"heartbeat\",\"x\":\"\xC3\"}"),
          std::string("{\"type\":\"heartbeat\",\"x\":\"\xC0\xAF\"}"),         // overlong '/'
          std::string("{\"type\":\"heartbeat\",\"x\":\"\xED\xA0\x80\"}")}) {  // surrogate
        const auto e = error_of(bad);
        EXPECT_EQ(e.code, ErrorCode::bad_frame);
        EXPECT_EQ(e.message, "frame is not valid JSON");
    }
}

TEST(DecodeFrame, NonObjectJson) {
    for (const char* bad : {"[]", R"(["alarm"])", "42", R"("alarm")", "null", "true"}) {
        const auto e = error_of(bad);
        EXPECT_EQ(e.code, ErrorCode::bad_frame) << bad;
        EXPECT_EQ(e.message, "frame must be a JSON object") << bad;
        EXPECT_FALSE(e.ref.has_value()) << bad;
    }
}

TEST(DecodeFrame, MissingOrNonStringTypeCarriesAValidId) {
    auto e = error_of(R"({"id":"A-17","kind":"fire"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "missing field \"type\"");
    EXPECT_EQ(e.ref, "A-17");

    e = error_of(R"({"type":7,"id":"A-17"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"type\" must be a string");
    EXPECT_EQ(e.ref, "A-17");

    e = error_of(R"({"seq":1})");
    EXPECT_EQ(e.message, "missing field \"type\"");
    EXPECT_FALSE(e.ref.has_value());
}

TEST(DecodeFrame, UnknownTypeKeepsTheRef) {
    auto e = error_of(R"({"type":"panic","id":"X-1"})");
    EXPECT_EQ(e.code, ErrorCode::unknown_type);
    EXPECT_EQ(e.message, "unknown frame type \"panic\"");
    EXPECT_EQ(e.ref, "X-1");

    e = error_of(R"({"type":"Alarm","id":"A-1","kind":"fire"})");  // types are case-sensitive
    EXPECT_EQ(e.code, ErrorCode::unknown_type);

    e = error_of(R"({"type":""})");
    EXPECT_EQ(e.code, ErrorCode::unknown_type);
    EXPECT_FALSE(e.ref.has_value());

    // Server-to-terminal types are not accepted from a terminal.
    for (const char* t : {"welcome", "ack", "heartbeat_ack", "status", "error"}) {
        EXPECT_EQ(error_of(std::string(R"({"type":")") + t + "\"}").code, ErrorCode::unknown_type)
            << t;
    }
}

TEST(DecodeFrame, InvalidOrNonStringIdIsNotUsedAsRef) {
    EXPECT_FALSE(error_of(R"({"type":"panic","id":17})").ref.has_value());
    EXPECT_FALSE(error_of(R"({"type":"panic","id":"has space"})").ref.has_value());
    EXPECT_FALSE(error_of(R"({"type":"panic","id":""})").ref.has_value());
    EXPECT_FALSE(
        error_of(R"({"type":"panic","id":")" + std::string(65, 'a') + "\"}").ref.has_value());
}

TEST(DecodeFrame, TrailingCarriageReturnIsTolerated) {
    EXPECT_EQ(decode_as<Heartbeat>("{\"type\":\"heartbeat\",\"seq\":3}\r").seq, 3);
}

TEST(DecodeFrame, SurroundingWhitespaceIsTolerated) {
    EXPECT_EQ(decode_as<Heartbeat>(" {\"type\":\"heartbeat\",\"seq\":3} ").seq, 3);
}

TEST(DecodeFrame, UnknownExtraFieldsAreIgnored) {
    // The contract lets fields be added; a newer terminal must still be understood.
    const Alarm a = decode_as<Alarm>(alarm_with(R"(,"battery":87,"zone":{"x":1})"));
    EXPECT_EQ(a.id, "A-17");
}

// ---------------------------------------------------------------- ids

TEST(IsValidId, LengthBetweenOneAndSixtyFour) {
    EXPECT_FALSE(is_valid_id(""));
    EXPECT_TRUE(is_valid_id("A"));
    EXPECT_TRUE(is_valid_id(std::string(64, 'a')));
    EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST(IsValidId, PrintableAsciiOnly) {
    EXPECT_TRUE(is_valid_id("!"));  // 0x21
    EXPECT_TRUE(is_valid_id("~"));  // 0x7E
    EXPECT_TRUE(is_valid_id("T-0001_a.b:c/d@e#{}\"\\"));
    EXPECT_FALSE(is_valid_id(" "));  // space is not printable in this sense
    EXPECT_FALSE(is_valid_id("A 17"));
    EXPECT_FALSE(is_valid_id("A\t17"));
    EXPECT_FALSE(is_valid_id("A\n"));
    EXPECT_FALSE(is_valid_id(std::string("A\0B", 3)));
    EXPECT_FALSE(is_valid_id("A\x7F"));
    EXPECT_FALSE(is_valid_id("\xC3\xA9"));  // é
}

TEST(DecodeFrame, IdOfExactlySixtyFourCharactersIsAccepted) {
    const std::string id64(64, 'z');
    EXPECT_EQ(decode_as<Alarm>(R"({"type":"alarm","id":")" + id64 + R"(","kind":"fire"})").id,
              id64);
    const auto e = error_of(R"({"type":"alarm","id":")" + id64 + R"(z","kind":"fire"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"id\" must be 1-64 printable ASCII characters");
}

TEST(DecodeFrame, EscapedControlCharacterInIdIsRejected) {
    const auto e = error_of(R"({"type":"alarm","id":"A\u0001","kind":"fire"})");
    EXPECT_EQ(e.code, ErrorCode::bad_frame);
    EXPECT_EQ(e.message, "field \"id\" must be 1-64 printable ASCII characters");
    EXPECT_FALSE(e.ref.has_value());
}

// ---------------------------------------------------------------- error codes

TEST(ErrorCodes, NamesAreTheContractCodes) {
    EXPECT_EQ(to_string(ErrorCode::bad_frame), "bad_frame");
    EXPECT_EQ(to_string(ErrorCode::frame_too_large), "frame_too_large");
    EXPECT_EQ(to_string(ErrorCode::unknown_type), "unknown_type");
    EXPECT_EQ(to_string(ErrorCode::not_hello), "not_hello");
    EXPECT_EQ(to_string(ErrorCode::unknown_terminal), "unknown_terminal");
    EXPECT_EQ(to_string(ErrorCode::identity_mismatch), "identity_mismatch");
    EXPECT_EQ(to_string(ErrorCode::rate_limited), "rate_limited");
    EXPECT_EQ(to_string(ErrorCode::unavailable), "unavailable");
}

TEST(ErrorCodes, ConnectionStaysOpenOnlyAfterBadFrameUnknownTypeAndUnavailable) {
    EXPECT_TRUE(keeps_connection(ErrorCode::bad_frame));
    EXPECT_TRUE(keeps_connection(ErrorCode::unknown_type));
    EXPECT_TRUE(keeps_connection(ErrorCode::unavailable));
    EXPECT_FALSE(keeps_connection(ErrorCode::frame_too_large));
    EXPECT_FALSE(keeps_connection(ErrorCode::not_hello));
    EXPECT_FALSE(keeps_connection(ErrorCode::unknown_terminal));
    EXPECT_FALSE(keeps_connection(ErrorCode::identity_mismatch));
    EXPECT_FALSE(keeps_connection(ErrorCode::rate_limited));
}

// ---------------------------------------------------------------- encoders

TEST(Encode, Welcome) {
    const json j = one_line(encode_welcome(kExample, 30));
    EXPECT_EQ(
        j, json::parse(
               R"({"type":"welcome","server_time":"2026-09-01T07:30:00.000Z","heartbeat_s":30})"));
    EXPECT_EQ(one_line(encode_welcome(kExample + 123'456, 15))["server_time"],
              "2026-09-01T07:30:00.123Z");
}

TEST(Encode, Ack) {
    const json j = one_line(encode_ack("A-17", "I-20260901-0ABCDEF"));
    EXPECT_EQ(j, json::parse(R"({"type":"ack","id":"A-17","incident":"I-20260901-0ABCDEF"})"));
}

TEST(Encode, AckEscapesQuotesAndBackslashesInIds) {
    const json j = one_line(encode_ack("A\"1\\", "I-1"));
    EXPECT_EQ(j["id"], "A\"1\\");
}

TEST(Encode, HeartbeatAck) {
    EXPECT_EQ(one_line(encode_heartbeat_ack(42)),
              json::parse(R"({"type":"heartbeat_ack","seq":42})"));
    EXPECT_EQ(one_line(encode_heartbeat_ack(9007199254740993LL))["seq"].get<std::int64_t>(),
              9007199254740993LL);
}

TEST(Encode, ErrorWithRef) {
    const json j = one_line(encode_error({ErrorCode::bad_frame, "missing field \"kind\"", "A-17"}));
    EXPECT_EQ(
        j,
        json::parse(
            R"({"type":"error","code":"bad_frame","message":"missing field \"kind\"","ref":"A-17"})"));
}

TEST(Encode, ErrorWithoutRefHasExplicitNull) {
    const json j = one_line(encode_error({ErrorCode::rate_limited, "slow down", std::nullopt}));
    ASSERT_TRUE(j.contains("ref"));
    EXPECT_TRUE(j["ref"].is_null());
    EXPECT_EQ(j["code"], "rate_limited");
    EXPECT_EQ(j["type"], "error");
    EXPECT_EQ(j["message"], "slow down");
    EXPECT_EQ(j.size(), 4u);
}

TEST(Encode, ErrorMessageWithNewlineStaysOneLine) {
    const json j =
        one_line(encode_error({ErrorCode::bad_frame, "line one\nline two", std::nullopt}));
    EXPECT_EQ(j["message"], "line one\nline two");
}

TEST(Encode, ErrorWithInvalidUtf8DoesNotThrow) {
    std::string out;
    EXPECT_NO_THROW(out =
                        encode_error({ErrorCode::bad_frame, "bad \xFF byte", std::string("\xC3")}));
    const json j = one_line(out);
    EXPECT_EQ(j["code"], "bad_frame");
    EXPECT_TRUE(j["message"].is_string());
}

TEST(Encode, EveryErrorCodeRoundTripsThroughEncodeError) {
    for (ErrorCode c :
         {ErrorCode::bad_frame, ErrorCode::frame_too_large, ErrorCode::unknown_type,
          ErrorCode::not_hello, ErrorCode::unknown_terminal, ErrorCode::identity_mismatch,
          ErrorCode::rate_limited, ErrorCode::unavailable}) {
        EXPECT_EQ(one_line(encode_error({c, "m", std::nullopt}))["code"],
                  std::string(to_string(c)));
    }
}

TEST(Encode, DecodedErrorEncodesBack) {
    const ProtocolError e = error_of(R"({"type":"alarm","id":"A-17"})");
    const json j = one_line(encode_error(e));
    EXPECT_EQ(j["code"], "bad_frame");
    EXPECT_EQ(j["ref"], "A-17");
    EXPECT_EQ(j["message"], "missing field \"kind\"");
}

TEST(Encode, StatusWithUnitAndEta) {
    StatusPush s;
    s.incident = "I-20260901-0ABCDEF";
    s.state = "dispatched";
    s.unit = "P-12";
    s.eta_s = 240;
    s.at = kExample;
    const json j = one_line(encode_status(s));
    EXPECT_EQ(j,
              json::parse(R"({"type":"status","incident":"I-20260901-0ABCDEF","state":"dispatched",
                                 "unit":"P-12","eta_s":240,"at":"2026-09-01T07:30:00.000Z"})"));
}

TEST(Encode, StatusOmitsAbsentOptionalFields) {
    StatusPush s;
    s.incident = "I-1";
    s.state = "received";
    s.at = kExample + 5'000;
    const json j = one_line(encode_status(s));
    EXPECT_EQ(
        j,
        json::parse(
            R"({"type":"status","incident":"I-1","state":"received","at":"2026-09-01T07:30:00.005Z"})"));
    EXPECT_FALSE(j.contains("unit"));
    EXPECT_FALSE(j.contains("eta_s"));
    EXPECT_FALSE(j.contains("drill"));
}

TEST(Encode, StatusMarksDrills) {
    StatusPush s;
    s.incident = "I-1";
    s.state = "resolved";
    s.drill = true;
    s.at = kExample;
    EXPECT_EQ(one_line(encode_status(s))["drill"], true);
}

TEST(Encode, DecodeOfAnEncodedServerFrameIsUnknownType) {
    // A terminal echoing server frames back gets unknown_type, not a crash.
    const std::string ack = encode_ack("A-17", "I-1");
    const auto e = error_of(std::string_view(ack).substr(0, ack.size() - 1));
    EXPECT_EQ(e.code, ErrorCode::unknown_type);
    EXPECT_EQ(e.ref, "A-17");
}

// ---------------------------------------------------------------- the plain alarm fast path

// Everything a decode result says, as text: two results are the same
// exactly when their descriptions are.
std::string describe(const DecodeResult& r) {
    if (const auto* e = std::get_if<ProtocolError>(&r)) {
        return "error " + std::string(to_string(e->code)) + " [" + e->message + "] ref " +
               (e->ref ? "\"" + *e->ref + "\"" : "none");
    }
    return std::visit(
        [](const auto& f) -> std::string {
            using T = std::decay_t<decltype(f)>;
            if constexpr (std::is_same_v<T, Alarm>) {
                return "alarm id [" + f.id + "] kind [" + f.kind + "] at " +
                       (f.at ? std::to_string(*f.at) : "none") + " drill " +
                       (f.drill ? "true" : "false") + " note [" + f.note + "]";
            } else if constexpr (std::is_same_v<T, Hello>) {
                return "hello " + f.terminal;
            } else if constexpr (std::is_same_v<T, Heartbeat>) {
                return "heartbeat " + std::to_string(f.seq);
            } else {
                return "cancel " + f.id;
            }
        },
        std::get<Frame>(r));
}

// The frames terminals send: each is decoded by the fast path, to what the
// DOM decode gives.
const std::vector<std::string>& plain_alarms() {
    static const std::vector<std::string> frames = {
        R"({"type":"alarm","id":"A-17","kind":"assault","at":"2026-09-01T07:30:00Z","drill":false,"note":"gate 2"})",
        R"({"type":"alarm","id":"bb1764-9","kind":"intrusion","at":"2026-12-01T16:00:00.123Z","drill":false,"note":"huxiao-bench"})",
        R"({"type":"alarm","id":"A-1","kind":"fire"})",
        R"({"kind":"medical","drill":true,"id":"x\"y","type":"alarm"})",  // not an id: DOM
        R"({"id":"A-2","type":"alarm","kind":"other","drill":true})",
        R"(  { "type" : "alarm" , "id" : "A-3" , "kind" : "fire" , "at" : null , "drill" : null , "note" : null }  )",
        "{\"type\":\"alarm\",\t\"id\":\"A-4\",\n\"kind\":\"traffic\"}\r",
        R"({"type":"alarm","id":"A-5","kind":"bullying","note":"二楼 走廊 é ✓ 😀"})",
        R"({"type":"alarm","id":"A-6","kind":"self_harm","at":"2026-09-01T15:30:00.123456+08:00"})",
        std::string(
            R"({"type":"alarm","id":"~!#$%&'()*+,-./:;<=>?@[]^_`{|}","kind":"drowning","note":"a)") +
            '\x7f' + "b\"}",  // DEL needs no escape in JSON
        R"({"type":"alarm","id":"A-7","kind":"fire","note":""})",
    };
    return frames;
}

TEST(PlainAlarm, TypicalFramesTakeTheFastPathAndDecodeAsTheDomDoes) {
    int fast = 0;
    for (const std::string& line : plain_alarms()) {
        const auto plain = decode_plain_alarm(line);
        const DecodeResult dom = decode_terminal_frame_dom(line);
        if (!plain) continue;
        ++fast;
        EXPECT_EQ(describe(Frame{*plain}), describe(dom)) << line;
        EXPECT_EQ(describe(decode_terminal_frame(line)), describe(dom)) << line;
    }
    // All but the one with a quote in its id (not a valid id).
    EXPECT_EQ(fast, static_cast<int>(plain_alarms().size()) - 1);
    const auto a = decode_plain_alarm(plain_alarms()[0]);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->id, "A-17");
    EXPECT_EQ(a->kind, "assault");
    EXPECT_EQ(a->at, kExample);
    EXPECT_FALSE(a->drill);
    EXPECT_EQ(a->note, "gate 2");
}

TEST(PlainAlarm, AnythingElseIsLeftToTheDomDecodeWithItsErrors) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        // frame, what decode_terminal_frame answers (from the DOM decode)
        {alarm_with(R"(,"note":"a\nb")"),
         "alarm id [A-17] kind [assault] at none drill false note [a\nb]"},
        {alarm_with(R"(,"note":"\u0041")"),
         "alarm id [A-17] kind [assault] at none drill false note [A]"},
        {alarm_with(R"(,"seq":1)"), "alarm id [A-17] kind [assault] at none drill false note []"},
        {alarm_with(R"(,"kind":"fire")"),
         "alarm id [A-17] kind [fire] at none drill false note []"},
        {alarm_with(R"(,"extra":{"a":[1]})"),
         "alarm id [A-17] kind [assault] at none drill false note []"},
        {alarm_with(R"(,"drill":1)"),
         "error bad_frame [field \"drill\" must be true or false] ref \"A-17\""},
        {alarm_with(R"(,"drill":"true")"),
         "error bad_frame [field \"drill\" must be true or false] ref \"A-17\""},
        {alarm_with(R"(,"at":"yesterday")"),
         "error bad_frame [field \"at\" is not an ISO-8601 time like 2026-09-01T07:30:00Z] ref "
         "\"A-17\""},
        {alarm_with(R"(,"at":true)"),
         "error bad_frame [field \"at\" must be an ISO-8601 string] ref \"A-17\""},
        {alarm_with(R"(,"note":false)"),
         "error bad_frame [field \"note\" must be a string] ref \"A-17\""},
        {alarm_with(R"(,"note":"a\u0000b")"),
         "error bad_frame [field \"note\" must not contain NUL (\\u0000)] ref \"A-17\""},
        {alarm_with(",\"note\":\"" + std::string(501, 'x') + "\""),
         "error bad_frame [field \"note\" is longer than 500 characters] ref \"A-17\""},
        {R"({"type":"alarm","id":"A-1","kind":"arson"})",
         "error bad_frame [field \"kind\" must be one of intrusion, assault, medical, fire, "
         "bullying, "
         "self_harm, drowning, traffic, other] ref \"A-1\""},
        {R"({"type":"alarm","id":"A-1"})", "error bad_frame [missing field \"kind\"] ref \"A-1\""},
        {R"({"type":"alarm","id":"","kind":"fire"})",
         "error bad_frame [field \"id\" must be 1-64 printable ASCII characters] ref none"},
        {R"({"type":"alarm","id":"A 1","kind":"fire"})",
         "error bad_frame [field \"id\" must be 1-64 printable ASCII characters] ref none"},
        {R"({"type":"alarm","kind":"fire"})", "error bad_frame [missing field \"id\"] ref none"},
        {R"({"type":"alarm","id":7,"kind":"fire"})",
         "error bad_frame [field \"id\" must be a string] ref none"},
        {R"({"type":"Alarm","id":"A-1","kind":"fire"})",
         "error unknown_type [unknown frame type \"Alarm\"] ref \"A-1\""},
        {R"({"id":"A-1","kind":"fire"})", "error bad_frame [missing field \"type\"] ref \"A-1\""},
        {R"({"type":"heartbeat","seq":3})", "heartbeat 3"},
        {R"({"type":"alarm","id":"A-1","kind":"fire"}x)", ""},
        {R"({"type":"alarm","id":"A-1","kind":"fire",})", ""},
        {R"({"type":"alarm","id":"A-1","kind":"fire")", ""},
        {R"({"type":"alarm","id":"A-1","kind":"fire","drill":tru})", ""},
        {"{\"type\":\"alarm\",\"id\":\"A-1\",\"kind\":\"fire\",\"note\":\"\xC3\"}", ""},
        {"{\"type\":\"alarm\",\"id\":\"A-1\",\"kind\":\"fire\",\"note\":\"\xED\xA0\x80\"}", ""},
        {"{\"type\":\"alarm\",\"id\":\"A-1\",\"kind\":\"fire\",\"note\":\"\xC0\xAF\"}", ""},
        {"{\"type\":\"alarm\",\"id\":\"A-1\",\"kind\":\"fire\",\"note\":\"a\tb\"}", ""},
        {"{\"type\":\"alarm\",\"id\":\"A-1\",\"kind\":\"fire\",\"note\":\"a\0b\"}", ""},
        {"[]", "error bad_frame [frame must be a JSON object] ref none"},
        {"", ""},
    };
    for (const auto& [line, expected] : cases) {
        EXPECT_FALSE(decode_plain_alarm(line)) << line;
        const std::string got = describe(decode_terminal_frame(line));
        EXPECT_EQ(got, describe(decode_terminal_frame_dom(line))) << line;
        if (!expected.empty()) {
            EXPECT_EQ(got, expected) << line;
        } else {
            EXPECT_TRUE(got.starts_with("error bad_frame [frame is not valid JSON]"))
                << line << ": " << got;
        }
    }
}

// Every one-character edit of the plain frames (deleted, replaced, or
// inserted, with characters that matter to JSON): whenever the fast path
// takes the result, it is the DOM decode's; either way decode_terminal_frame
// answers as the DOM decode does.
TEST(PlainAlarm, OneCharacterEditsNeverDecodeOtherwiseThanTheDom) {
    const std::string alphabet =
        std::string("\"\\,:{}[] \t\r\nxa0159.-+eEtfnul") + '\x01' + '\x7f' + '\xc3' + '\xa9' + '\0';
    int fast = 0, total = 0;
    const auto check = [&](const std::string& line) {
        ++total;
        const DecodeResult dom = decode_terminal_frame_dom(line);
        if (const auto plain = decode_plain_alarm(line)) {
            ++fast;
            ASSERT_EQ(describe(Frame{*plain}), describe(dom)) << line;
        }
        ASSERT_EQ(describe(decode_terminal_frame(line)), describe(dom)) << line;
    };
    for (const std::string& seed : plain_alarms()) {
        for (std::size_t i = 0; i <= seed.size(); ++i) {
            if (i < seed.size()) check(seed.substr(0, i) + seed.substr(i + 1));
            for (const char c : alphabet) {
                if (i < seed.size()) check(seed.substr(0, i) + c + seed.substr(i + 1));
                check(seed.substr(0, i) + c + seed.substr(i));
            }
        }
    }
    // Not vacuous: many edits (inside notes, ids, whitespace) stay plain alarms.
    EXPECT_GT(fast, total / 20) << fast << " of " << total;
}

TEST(Encode, AckIsByteForByteTheDomEncodingForEveryAsciiCharacter) {
    const auto dom = [](const std::string& id, const std::string& incident) {
        return json{{"type", "ack"}, {"id", id}, {"incident", incident}}.dump() + "\n";
    };
    EXPECT_EQ(encode_ack("A-17", "I-20260901-0ABCDEF"),
              R"({"id":"A-17","incident":"I-20260901-0ABCDEF","type":"ack"})"
              "\n");
    for (int c = 0; c < 0x80; ++c) {
        const std::string id = "A" + std::string(1, static_cast<char>(c)) + "Z";
        EXPECT_EQ(encode_ack(id, "I-1"), dom(id, "I-1")) << c;
        EXPECT_EQ(encode_ack("A-1", id), dom("A-1", id)) << c;
    }
    // Past ASCII: nlohmann's own encoding (valid UTF-8 as it is).
    EXPECT_EQ(encode_ack("A-1", "I-é"), dom("A-1", "I-é"));
}

}  // namespace
}  // namespace huxiao::terminal
