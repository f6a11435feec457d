// Inspections and hazards, the pure core (common/inspection): validation of a
// recorded inspection, the auto checklist items, the hazard life cycle and
// the green/amber/red status rules of docs/inspections.md.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "common/inspection/auto_items.hpp"
#include "common/inspection/checklist.hpp"
#include "common/inspection/hazard_lifecycle.hpp"
#include "common/inspection/school_status.hpp"

namespace huxiao::inspection {
namespace {

using nlohmann::json;

UnixMicros at(const char* iso) { return *parse_iso8601(iso); }

const UnixMicros kNow = at("2026-11-30T04:00:00Z");

// The city's calendar (config calendar.tz), from the tz database.
const TimeZone& zone(const char* name) {
    const auto z = TimeZone::locate(name);
    if (!z) throw std::runtime_error(std::string("tz database lacks ") + name + " (tzdata?)");
    return *z;  // TimeZone::locate keeps one object per name for the process
}
const TimeZone& shanghai() { return zone("Asia/Shanghai"); }

json valid_body() {
    return json::parse(R"({
      "school": "S-1", "at": "2026-11-30T02:00:00Z", "kind": "joint",
      "inspectors": ["Wang Li", "Zhao Min"],
      "items": [{"code": "guards_staffed", "result": "pass"},
                {"code": "anti_ram_barriers", "result": "fail", "note": "gate 2 has none"}],
      "hazards": [{"category": "physical", "description": "no barrier at gate 2",
                   "deadline": "2026-12-15T10:00:00Z", "responsible": "Principal Chen"}]
    })");
}

FieldError error_of(const json& body) {
    auto r = parse_inspection(body, kNow);
    EXPECT_TRUE(std::holds_alternative<FieldError>(r)) << body.dump();
    if (auto* e = std::get_if<FieldError>(&r)) return *e;
    return {};
}

TEST(InspectionInput, AValidInspectionIsParsed) {
    auto r = parse_inspection(valid_body(), kNow);
    ASSERT_TRUE(std::holds_alternative<InspectionInput>(r));
    const auto& in = std::get<InspectionInput>(r);
    EXPECT_EQ(in.school, "S-1");
    EXPECT_EQ(in.at, at("2026-11-30T02:00:00Z"));
    EXPECT_EQ(in.kind, "joint");
    EXPECT_EQ(in.inspectors, (std::vector<std::string>{"Wang Li", "Zhao Min"}));
    ASSERT_EQ(in.items.size(), 2u);
    EXPECT_EQ(in.items[1].code, "anti_ram_barriers");
    EXPECT_EQ(in.items[1].result, "fail");
    EXPECT_EQ(in.items[1].note, "gate 2 has none");
    EXPECT_FALSE(in.items[0].note);
    ASSERT_EQ(in.hazards.size(), 1u);
    EXPECT_EQ(in.hazards[0].category, "physical");
    EXPECT_EQ(in.hazards[0].deadline, at("2026-12-15T10:00:00Z"));
    EXPECT_EQ(in.hazards[0].responsible, "Principal Chen");
}

TEST(InspectionInput, EveryBadFieldIsNamed) {
    struct Case {
        std::function<void(json&)> change;
        std::string field;
    };
    const std::vector<Case> cases = {
        {[](json& b) { b.erase("school"); }, "school"},
        {[](json& b) { b["school"] = 7; }, "school"},
        {[](json& b) { b["school"] = std::string(65, 'S'); }, "school"},
        {[](json& b) { b["at"] = "yesterday"; }, "at"},
        {[](json& b) { b["at"] = "2026-11-30T05:00:00Z"; }, "at"},  // an hour ahead of now
        {[](json& b) { b["kind"] = "surprise"; }, "kind"},
        {[](json& b) { b["inspectors"] = json::array(); }, "inspectors"},
        {[](json& b) { b["inspectors"] = "Wang Li"; }, "inspectors"},
        {[](json& b) { b["inspectors"][1] = ""; }, "inspectors[1]"},
        {[](json& b) { b["inspectors"] = json(std::vector<std::string>(21, "x")); }, "inspectors"},
        {[](json& b) { b["items"][0]["code"] = "moat_filled"; }, "items[0].code"},
        {[](json& b) { b["items"][1]["code"] = "guards_staffed"; }, "items[1].code"},
        {[](json& b) { b["items"][1]["result"] = "maybe"; }, "items[1].result"},
        {[](json& b) { b["items"][1]["note"] = std::string(1001, 'n'); }, "items[1].note"},
        {[](json& b) { b["items"][0]["colour"] = "red"; }, "items[0].colour"},
        {[](json& b) { b["items"][0] = "guards_staffed"; }, "items[0]"},
        {[](json& b) { b["hazards"][0]["category"] = "weather"; }, "hazards[0].category"},
        {[](json& b) { b["hazards"][0]["description"] = "  "; }, "hazards[0].description"},
        {[](json& b) { b["hazards"][0]["deadline"] = "2026-11-30T01:00:00Z"; },
         "hazards[0].deadline"},  // before the inspection
        {[](json& b) { b["hazards"][0]["deadline"] = "2026-11-30T02:00:00Z"; },
         "hazards[0].deadline"},  // at the inspection
        {[](json& b) { b["hazards"][0].erase("responsible"); }, "hazards[0].responsible"},
        {[](json& b) { b["hazards"] = json(std::vector<json>(51, b["hazards"][0])); }, "hazards"},
        {[](json& b) { b["extra"] = 1; }, "extra"},
    };
    for (const auto& c : cases) {
        json body = valid_body();
        c.change(body);
        EXPECT_EQ(error_of(body).field, c.field) << body.dump();
    }
    EXPECT_EQ(error_of(json::array()).field, "body");
}

TEST(InspectionInput, ItemsAndHazardsAreOptional) {
    json body = valid_body();
    body.erase("items");
    body.erase("hazards");
    auto r = parse_inspection(body, kNow);
    ASSERT_TRUE(std::holds_alternative<InspectionInput>(r));
    EXPECT_TRUE(std::get<InspectionInput>(r).items.empty());
    EXPECT_TRUE(std::get<InspectionInput>(r).hazards.empty());
}

TEST(InspectionInput, LengthsCountCharactersNotBytes) {
    json body = valid_body();
    std::string name;
    for (int i = 0; i < 100; ++i) name += "王";  // 300 bytes, 100 characters
    body["inspectors"][0] = name;
    EXPECT_TRUE(std::holds_alternative<InspectionInput>(parse_inspection(body, kNow)));
    body["inspectors"][0] = name + "李";
    EXPECT_EQ(error_of(body).field, "inspectors[0]");
}

TEST(Checklist, TenCodesFourOfThemAuto) {
    EXPECT_EQ(checklist_codes().size(), 10u);
    int autos = 0;
    for (auto c : checklist_codes()) autos += is_auto_code(c) ? 1 : 0;
    EXPECT_EQ(autos, 4);
    EXPECT_TRUE(is_auto_code("drill_held"));
    EXPECT_FALSE(is_auto_code("emergency_plan"));
}

// --- auto items ---

const AutoItem& item(const std::vector<AutoItem>& items, const std::string& code) {
    for (const auto& i : items) {
        if (i.code == code) return i;
    }
    throw std::runtime_error("no item " + code);
}

SchoolFacts healthy() {
    SchoolFacts f;
    f.terminals = 2;
    f.terminals_online = 1;
    f.last_seen = kNow - 60 * kMicrosPerSecond;
    f.last_alarm = kNow - 10 * kDay;
    f.last_drill = at("2026-10-15T02:00:00Z");
    f.guard_scheduled_min = 1000;
    f.guard_present_min = 900;
    return f;
}

TEST(AutoItems, AHealthySchoolPassesAllFour) {
    const auto items = auto_items(healthy(), kNow, shanghai());
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[0].code, "alarm_linked");
    EXPECT_EQ(items[3].code, "drill_held");
    for (const auto& i : items) EXPECT_EQ(i.result, "pass") << i.code << ": " << i.reason;
}

TEST(AutoItems, AlarmLinkedNeedsAnOnlineTerminalSeenInTheLastDay) {
    SchoolFacts f = healthy();
    f.terminals = 0;
    f.terminals_online = 0;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "alarm_linked").result, "fail");
    f = healthy();
    f.terminals_online = 0;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "alarm_linked").result, "fail");
    f = healthy();
    f.last_seen = kNow - kDay - 1;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "alarm_linked").result, "fail");
    f.last_seen = kNow - kDay;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "alarm_linked").result, "pass");
}

TEST(AutoItems, AlarmTestedLooksBackNinetyDays) {
    SchoolFacts f = healthy();
    f.last_alarm = kNow - 90 * kDay;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "alarm_tested").result, "pass");
    f.last_alarm = kNow - 90 * kDay - 1;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "alarm_tested").result, "fail");
    f.last_alarm.reset();
    const auto items = auto_items(f, kNow, shanghai());
    const auto& i = item(items, "alarm_tested");
    EXPECT_EQ(i.result, "fail");
    EXPECT_EQ(i.reason, "no alarm or drill from the school on record");
}

TEST(AutoItems, GuardPostPeakAtNinetyPercent) {
    SchoolFacts f = healthy();
    f.guard_present_min = 899;  // 89.9 %
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "guard_post_peak").result, "fail");
    f.guard_present_min = 900;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "guard_post_peak").result, "pass");
    EXPECT_EQ(guard_post_pct(f), 90.0);
    f.guard_scheduled_min = 0;
    f.guard_present_min = 0;
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "guard_post_peak").result, "na");
    EXPECT_FALSE(guard_post_pct(f));
}

TEST(AutoItems, TermsStartOnTheFirstOfSeptemberAndFebruaryLocalTime) {
    // Local midnight in Beijing is 16:00Z the day before.
    EXPECT_EQ(term_start(at("2026-11-30T04:00:00Z"), shanghai()), at("2026-08-31T16:00:00Z"));
    EXPECT_EQ(term_start(at("2027-01-20T04:00:00Z"), shanghai()), at("2026-08-31T16:00:00Z"));
    EXPECT_EQ(term_start(at("2027-01-31T16:00:00Z"), shanghai()),
              at("2027-01-31T16:00:00Z"));  // 1 Feb local
    EXPECT_EQ(term_start(at("2027-01-31T15:59:59Z"), shanghai()), at("2026-08-31T16:00:00Z"));
    EXPECT_EQ(term_start(at("2026-07-10T00:00:00Z"), shanghai()), at("2026-01-31T16:00:00Z"));
    EXPECT_EQ(term_start(at("2026-09-01T00:00:00Z"), zone("UTC")), at("2026-09-01T00:00:00Z"));
}

TEST(AutoItems, TermsStartAtLocalMidnightOfAZoneWithDaylightSaving) {
    // New York: 1 September is in summer time (UTC-4), 1 February in winter
    // time (UTC-5); the offset is the one of the day the term begins, not
    // the one of `now`.
    const TimeZone& ny = zone("America/New_York");
    EXPECT_EQ(term_start(at("2026-11-30T04:00:00Z"), ny), at("2026-09-01T04:00:00Z"));
    EXPECT_EQ(term_start(at("2027-03-20T12:00:00Z"), ny), at("2027-02-01T05:00:00Z"));
    // 1 February 00:00 local is 05:00Z: a second earlier is still the autumn term.
    EXPECT_EQ(term_start(at("2027-02-01T04:59:59Z"), ny), at("2026-09-01T04:00:00Z"));
    EXPECT_EQ(term_start(at("2027-02-01T05:00:00Z"), ny), at("2027-02-01T05:00:00Z"));
    SchoolFacts f = healthy();
    f.last_drill = at("2026-09-01T03:59:59Z");  // 23:59:59 on 31 August in New York
    EXPECT_EQ(item(auto_items(f, kNow, ny), "drill_held").result, "fail");
    f.last_drill = at("2026-09-01T04:00:00Z");
    EXPECT_EQ(item(auto_items(f, kNow, ny), "drill_held").result, "pass");
}

TEST(AutoItems, DrillHeldThisTerm) {
    SchoolFacts f = healthy();
    f.last_drill = at("2026-08-31T15:59:59Z");  // the last second of the spring term
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "drill_held").result, "fail");
    f.last_drill = at("2026-08-31T16:00:00Z");
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "drill_held").result, "pass");
    f.last_drill.reset();
    EXPECT_EQ(item(auto_items(f, kNow, shanghai()), "drill_held").result, "fail");
}

// --- hazard life cycle ---

HazardStatus to(const std::variant<HazardTransition, FieldError>& r) {
    EXPECT_TRUE(std::holds_alternative<HazardTransition>(r));
    return std::get<HazardTransition>(r).to;
}
std::string refused(const std::variant<HazardTransition, FieldError>& r) {
    EXPECT_TRUE(std::holds_alternative<FieldError>(r));
    return std::holds_alternative<FieldError>(r) ? std::get<FieldError>(r).field : "";
}

TEST(HazardLifecycle, OpenRectifiedRejectedOpenRectifiedVerified) {
    HazardStatus s = HazardStatus::open;
    s = to(apply(s, Rectify{"education"}, kNow));
    EXPECT_EQ(s, HazardStatus::rectified);
    const auto rejected = apply(s, Verify{"inspector", false, kNow + 7 * kDay}, kNow);
    ASSERT_TRUE(std::holds_alternative<HazardTransition>(rejected));
    EXPECT_EQ(std::get<HazardTransition>(rejected).event, "verification_rejected");
    EXPECT_EQ(std::get<HazardTransition>(rejected).deadline, kNow + 7 * kDay);
    s = to(rejected);
    EXPECT_EQ(s, HazardStatus::open);
    s = to(apply(s, Rectify{"inspector"}, kNow));
    EXPECT_EQ(s, HazardStatus::rectified);
    const auto accepted = apply(s, Verify{"inspector", true, std::nullopt}, kNow);
    EXPECT_EQ(std::get<HazardTransition>(accepted).event, "verification_accepted");
    EXPECT_EQ(to(accepted), HazardStatus::verified);
}

TEST(HazardLifecycle, RefusalsNameTheReason) {
    EXPECT_EQ(refused(apply(HazardStatus::verified, Rectify{"education"}, kNow)), "status");
    EXPECT_EQ(refused(apply(HazardStatus::rectified, Rectify{"education"}, kNow)), "status");
    EXPECT_EQ(refused(apply(HazardStatus::open, Rectify{"auditor"}, kNow)), "role");
    EXPECT_EQ(refused(apply(HazardStatus::rectified, Verify{"education", true, {}}, kNow)), "role");
    EXPECT_EQ(refused(apply(HazardStatus::open, Verify{"inspector", true, {}}, kNow)), "status");
    EXPECT_EQ(refused(apply(HazardStatus::verified, Verify{"inspector", false, {}}, kNow)),
              "status");
    EXPECT_EQ(refused(apply(HazardStatus::rectified, Verify{"inspector", false, kNow}, kNow)),
              "deadline");
    EXPECT_EQ(refused(apply(HazardStatus::rectified, Verify{"inspector", true, kNow + kDay}, kNow)),
              "deadline");
}

TEST(HazardLifecycle, RejectionWithoutANewDeadlineKeepsTheOldOne) {
    const auto r = apply(HazardStatus::rectified, Verify{"inspector", false, std::nullopt}, kNow);
    EXPECT_EQ(to(r), HazardStatus::open);
    EXPECT_FALSE(std::get<HazardTransition>(r).deadline);
}

TEST(HazardLifecycle, OverdueOnlyWhileOpenPastTheDeadline) {
    EXPECT_FALSE(is_overdue(HazardStatus::open, kNow, kNow));
    EXPECT_TRUE(is_overdue(HazardStatus::open, kNow - 1, kNow));
    EXPECT_FALSE(is_overdue(HazardStatus::rectified, kNow - kDay, kNow));
    EXPECT_FALSE(is_overdue(HazardStatus::verified, kNow - kDay, kNow));
    EXPECT_EQ(hazard_status("rectified"), HazardStatus::rectified);
    EXPECT_FALSE(hazard_status("closed"));
    EXPECT_EQ(to_string(HazardStatus::verified), "verified");
}

// --- status rules ---

SchoolSafetyFacts green_facts() {
    SchoolSafetyFacts f;
    f.last_inspection = kNow - 30 * kDay;
    for (auto c : checklist_codes()) f.latest[std::string(c)] = "pass";
    f.auto_now = auto_items(healthy(), kNow, shanghai());
    return f;
}

TEST(SchoolStatus, GreenWhenNothingIsWrong) {
    const auto s = school_status(green_facts(), kNow);
    EXPECT_EQ(s.status, "green");
    EXPECT_TRUE(s.reasons.empty());
}

TEST(SchoolStatus, RedForOverdueHazardsCriticalFailuresAndAnUnlinkedAlarm) {
    auto f = green_facts();
    f.open_hazards = 2;
    f.overdue_hazards = 1;
    auto s = school_status(f, kNow);
    EXPECT_EQ(s.status, "red");
    ASSERT_EQ(s.reasons.size(), 2u);
    EXPECT_EQ(s.reasons[0], "1 overdue hazard(s)");
    EXPECT_EQ(s.reasons[1], "1 hazard(s) not yet verified");

    f = green_facts();
    f.latest["gate_closed_management"] = "fail";
    EXPECT_EQ(school_status(f, kNow).status, "red");

    f = green_facts();
    SchoolFacts offline = healthy();
    offline.terminals_online = 0;
    f.auto_now = auto_items(offline, kNow, shanghai());
    EXPECT_EQ(school_status(f, kNow).status, "red");
}

TEST(SchoolStatus, AmberForOpenHazardsOtherFailuresAndStaleInspections) {
    auto f = green_facts();
    f.open_hazards = 1;
    EXPECT_EQ(school_status(f, kNow).status, "amber");

    f = green_facts();
    f.latest["anti_ram_barriers"] = "fail";
    EXPECT_EQ(school_status(f, kNow).status, "amber");

    f = green_facts();
    f.latest["anti_ram_barriers"] = "na";
    EXPECT_EQ(school_status(f, kNow).status, "green");

    f = green_facts();
    SchoolFacts no_drill = healthy();
    no_drill.last_drill.reset();
    f.auto_now = auto_items(no_drill, kNow, shanghai());
    const auto s = school_status(f, kNow);
    EXPECT_EQ(s.status, "amber");
    ASSERT_EQ(s.reasons.size(), 1u);
    EXPECT_EQ(s.reasons[0].rfind("drill_held fails now", 0), 0u);

    f = green_facts();
    f.last_inspection.reset();
    EXPECT_EQ(school_status(f, kNow).reasons, std::vector<std::string>{"never inspected"});
    f.last_inspection = kNow - kInspectionDue - 1;
    EXPECT_EQ(school_status(f, kNow).status, "amber");
    f.last_inspection = kNow - kInspectionDue;
    EXPECT_EQ(school_status(f, kNow).status, "green");
}

}  // namespace
}  // namespace huxiao::inspection
