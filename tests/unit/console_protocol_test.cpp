// The console protocol codec (common/protocol/console_protocol): every command
// and its refusals, in the order the checks are made (type, role, fields), and
// the shapes of what consoles are sent. No I/O.
#include "common/protocol/console_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace huxiao::console_protocol {
namespace {

using nlohmann::json;

const Sender kDispatcher{"desk-7", "dispatcher", true};
const Sender kAuditor{"inspector", "auditor", false};

Command command(const std::string& text, const Sender& sender = kDispatcher) {
    auto d = decode(text, sender);
    if (auto* e = std::get_if<Error>(&d)) ADD_FAILURE() << e->code << ": " << e->message;
    EXPECT_TRUE(std::holds_alternative<Command>(d)) << text;
    return std::holds_alternative<Command>(d) ? std::get<Command>(d) : Command{};
}

Error error(const std::string& text, const Sender& sender = kDispatcher) {
    auto d = decode(text, sender);
    EXPECT_TRUE(std::holds_alternative<Error>(d)) << text;
    return std::holds_alternative<Error>(d) ? std::get<Error>(d) : Error{};
}

TEST(ConsoleProtocol, EveryCommandBecomesItsEventWithTheTokenAsActor) {
    auto ack = command(R"({"type":"acknowledge","incident":"I-1","id":"c1"})");
    EXPECT_EQ(std::get<dispatch::ConsoleAcknowledge>(ack.event).incident, "I-1");
    EXPECT_EQ(std::get<dispatch::ConsoleAcknowledge>(ack.event).actor, "desk-7");
    EXPECT_EQ(ack.ref, R"("c1")");

    auto assign = std::get<dispatch::ConsoleAssign>(
        command(R"({"type":"assign","incident":"I-1","unit":"P-2"})").event);
    EXPECT_EQ(assign.unit, "P-2");
    EXPECT_EQ(assign.actor, "desk-7");

    auto cancel = std::get<dispatch::ConsoleCancel>(
        command(R"({"type":"cancel","incident":"I-1","reason":"by mistake"})").event);
    EXPECT_EQ(cancel.reason, "by mistake");
    EXPECT_EQ(
        std::get<dispatch::ConsoleCancel>(command(R"({"type":"cancel","incident":"I-1"})").event)
            .reason,
        "");

    auto resolve = std::get<dispatch::ConsoleResolve>(
        command(R"({"type":"resolve","incident":"I-1","note":"done"})").event);
    EXPECT_EQ(resolve.note, "done");

    auto note = std::get<dispatch::ConsoleNote>(
        command(R"({"type":"note","incident":"I-1","text":"called"})").event);
    EXPECT_EQ(note.text, "called");
    EXPECT_EQ(note.actor, "desk-7");
}

TEST(ConsoleProtocol, RefIsTheIdElseTheIncidentElseNull) {
    EXPECT_EQ(command(R"({"type":"note","incident":"I-1","text":"x","id":42})").ref, "42");
    EXPECT_EQ(command(R"({"type":"note","incident":"I-1","text":"x"})").ref, R"("I-1")");
    EXPECT_EQ(error(R"({"type":"nope"})").ref, "null");
    // Contract 1.1: only a plain string or number is echoed; a client's
    // nested JSON is never copied back.
    EXPECT_EQ(error(R"({"type":"nope","id":{"a":1}})").ref, "null");
    EXPECT_EQ(error(R"({"type":"nope","id":["x"],"incident":"I-1"})").ref, R"("I-1")");
}

TEST(ConsoleProtocol, SnapshotRequestsAreOpenToEveryRole) {
    auto d = decode(R"({"type":"snapshot"})", kAuditor);
    ASSERT_TRUE(std::holds_alternative<SnapshotRequest>(d));
    EXPECT_TRUE(std::get<SnapshotRequest>(d).with_schools);
    d = decode(R"({"type":"snapshot","schools":false})", kAuditor);
    ASSERT_TRUE(std::holds_alternative<SnapshotRequest>(d));
    EXPECT_FALSE(std::get<SnapshotRequest>(d).with_schools);
}

TEST(ConsoleProtocol, MalformedCommandsAreBadFrames) {
    for (const char* text :
         {"", "not json", "[]", "42", R"({"id":"x"})", R"({"type":7})",
          R"({"type":"note","text":"x"})", R"({"type":"note","incident":""})",
          R"({"type":"note","incident":"I-1"})", R"({"type":"assign","incident":"I-1"})",
          R"({"type":"assign","incident":"I-1","unit":5})", R"({"type":"ack","incident":[]})"}) {
        const Error e = error(text);
        EXPECT_TRUE(e.code == "bad_frame" || e.code == "unknown_type") << text << " " << e.code;
    }
    EXPECT_EQ(error(R"({"type":"note","incident":"I-1"})").message, "field \"text\" is required");
    EXPECT_EQ(error(R"({"type":"assign","incident":"I-1"})").message, "field \"unit\" is required");
    EXPECT_EQ(error(R"({"type":"resolve"})").message, "field \"incident\" is required");
}

TEST(ConsoleProtocol, OverlongFieldsAreRefusedNotTruncated) {
    const std::string long_text(kMaxTextField + 1, 'x');
    const Error e = error(json{{"type", "note"}, {"incident", "I-1"}, {"text", long_text}}.dump());
    EXPECT_EQ(e.code, "bad_frame");
    EXPECT_EQ(e.message, "field \"text\" is too long");
    EXPECT_EQ(error(json{{"type", "resolve"}, {"incident", std::string(65, 'I')}}.dump()).code,
              "bad_frame");
    const std::string just_fits(kMaxTextField, 'x');
    EXPECT_EQ(
        std::get<dispatch::ConsoleNote>(
            command(json{{"type", "note"}, {"incident", "I-1"}, {"text", just_fits}}.dump()).event)
            .text.size(),
        kMaxTextField);
}

TEST(ConsoleProtocol, NulInAnyTextFieldIsRefused) {
    const std::string with_nul = std::string("gate ") + '\0' + " closed";
    const std::pair<const char*, const char*> cases[] = {
        {"resolve", "note"}, {"cancel", "reason"}, {"note", "text"}, {"assign", "unit"}};
    for (const auto& [type, field] : cases) {
        json m{{"type", type}, {"incident", "I-1"}, {"unit", "P-1"}, {"text", "x"}};
        m[field] = with_nul;
        const Error e = error(m.dump());
        EXPECT_EQ(e.code, "bad_frame") << type;
        EXPECT_EQ(e.message, "field \"" + std::string(field) + "\" must not contain NUL (\\u0000)")
            << type;
    }
    EXPECT_EQ(
        error(json{{"type", "acknowledge"}, {"incident", std::string("I-") + '\0'}}.dump()).message,
        "field \"incident\" must not contain NUL (\\u0000)");
}

TEST(ConsoleProtocol, UnknownTypesBeforeRolesAndRolesBeforeFields) {
    EXPECT_EQ(error(R"({"type":"launch","incident":"I-1"})").code, "unknown_type");
    EXPECT_EQ(error(R"({"type":"launch"})", kAuditor).code, "unknown_type");
    // A read-only role is refused even a command that is malformed.
    const Error forbidden = error(R"({"type":"resolve","id":"x"})", kAuditor);
    EXPECT_EQ(forbidden.code, "forbidden");
    EXPECT_EQ(forbidden.message, "role auditor is read-only");
    EXPECT_EQ(forbidden.ref, R"("x")");
    for (const char* type : {"acknowledge", "assign", "cancel", "resolve", "note"}) {
        const json c = {{"type", type}, {"incident", "I-1"}, {"unit", "P-1"}, {"text", "t"}};
        EXPECT_EQ(error(c.dump(), {"bureau", "education", false}).code, "forbidden") << type;
        EXPECT_TRUE(std::holds_alternative<Command>(decode(c.dump(), kDispatcher))) << type;
    }
}

TEST(ConsoleProtocol, AnswersCarryTheirRef) {
    EXPECT_EQ(json::parse(encode_ok(R"("c1")")), (json{{"type", "ok"}, {"ref", "c1"}}));
    EXPECT_EQ(json::parse(encode_ok("null")), (json{{"type", "ok"}, {"ref", nullptr}}));
    EXPECT_EQ(json::parse(encode_error({"not_found", "no open incident I-9", "7"})),
              (json{{"type", "error"},
                    {"code", "not_found"},
                    {"message", "no open incident I-9"},
                    {"ref", 7}}));
}

TEST(ConsoleProtocol, EventShape) {
    Event e{"I-1", "offer_sent", 1788220800000000, "system", "P-1", "S-1", false, "dispatched"};
    const json m = json::parse(encode_event(e, {{"eta_s", 117}}));
    EXPECT_EQ(m, (json{{"type", "event"},
                       {"incident", "I-1"},
                       {"event", "offer_sent"},
                       {"at", "2026-09-01T00:00:00.000000Z"},
                       {"actor", "system"},
                       {"unit", "P-1"},
                       {"school", "S-1"},
                       {"drill", false},
                       {"state", "dispatched"},
                       {"details", {{"eta_s", 117}}}}));
    // Intake's own events have no drill/state, and no unit is null.
    const json intake = json::parse(encode_event(
        {"I-1", "alarm_received", 1788220800000000, "T-1", "", "S-1", {}, {}}, json::object()));
    EXPECT_FALSE(intake.contains("drill"));
    EXPECT_FALSE(intake.contains("state"));
    EXPECT_TRUE(intake["unit"].is_null());
}

TEST(ConsoleProtocol, InvalidUtf8IsReplacedNotThrown) {
    Event e{"I-1", "note", 0, "desk\xff", "", "S-1", {}, {}};
    EXPECT_NO_THROW(json::parse(encode_event(e, {{"text", "bad \xc3"}})));
    EXPECT_NO_THROW(
        json::parse(encode_error({"unknown_type", "unknown command \"\xfe\"", "null"})));
    const Error d = error("{\"type\":\"\xfe\"}");  // not valid JSON text at all
    EXPECT_EQ(d.code, "bad_frame");
}

TEST(ConsoleProtocol, SnapshotShape) {
    SnapshotView v;
    v.server_time = 1788220800000000;
    v.you = {"bureau", "education", {"D-1"}};
    SnapshotView::Incident i;
    i.id = "I-1";
    i.school = "S-1";
    i.school_name = "No.1";
    i.district = "D-1";
    i.kind = "fire";
    i.state = "dispatched";
    i.received_at = 1788220800000000;
    i.units = {"P-2"};
    i.offers = {{"P-1", 117, 12}};
    v.incidents.push_back(i);
    v.units.push_back({"P-1", "Patrol 1", "D-1", 30.5, 114.3, "busy", "I-1"});
    v.units.push_back({"P-2", "Patrol 2", "D-1", 30.6, 114.3, "available", ""});
    v.terminals_online = 3;
    v.terminals_offline.push_back({"T-9", "S-1", 0});
    v.schools.push_back({"S-1", "No.1", "D-1", 30.5, 114.3});
    v.districts.push_back({"D-1", "Jiang'an"});
    const json m = json::parse(encode_snapshot(v));
    EXPECT_EQ(m["type"], "snapshot");
    EXPECT_EQ(m["server_time"], "2026-09-01T00:00:00.000Z");
    EXPECT_EQ(m["you"], (json{{"name", "bureau"}, {"role", "education"}, {"districts", {"D-1"}}}));
    EXPECT_EQ(m["incidents"][0]["offers"][0],
              (json{{"unit", "P-1"}, {"eta_s", 117}, {"expires_in_s", 12}}));
    EXPECT_EQ(m["incidents"][0]["units"], json::array({"P-2"}));
    EXPECT_EQ(m["incidents"][0]["received_at"], "2026-09-01T00:00:00.000Z");
    EXPECT_EQ(m["units"][0]["incident"], "I-1");
    EXPECT_TRUE(m["units"][1]["incident"].is_null());
    EXPECT_EQ(m["terminals"],
              (json{{"online", 3},
                    {"offline", {{{"id", "T-9"}, {"school", "S-1"}, {"last_seen", nullptr}}}}}));
    EXPECT_EQ(m["schools"].size(), 1u);
    EXPECT_EQ(m["districts"][0]["name"], "Jiang'an");

    v.with_schools = false;
    const json light = json::parse(encode_snapshot(v));
    EXPECT_FALSE(light.contains("schools"));
    EXPECT_FALSE(light.contains("districts"));
}

}  // namespace
}  // namespace huxiao::console_protocol
