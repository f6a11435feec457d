// Validation of the registry import file (contract §7, common/model/registry_import).
#include "common/model/registry_import.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace huxiao {
namespace {

using nlohmann::json;

// The contract's example file.
json example() {
    return json::parse(R"({
      "districts": [{"id":"D-1","name":"Jianghan","sla":{"arrival_s":300}}],
      "schools":   [{"id":"S-1","name":"No.1 Primary","district":"D-1","lat":30.5928,"lon":114.3055}],
      "terminals": [{"id":"T-0001","school":"S-1","enabled":true}],
      "units":     [{"id":"P-12","callsign":"Patrol 12","district":"D-1","lat":30.59,"lon":114.29}],
      "guard_posts": [{"school":"S-1","unit":"P-12","days":"mon-fri","windows":["07:00-08:30","16:30-18:00"],"tz":"Asia/Shanghai"}]
    })");
}

RegistryParse parse(const json& doc, const KnownIds& known = {}) {
    return parse_registry(doc.dump(), known);
}

// The single error of `doc` ("" and a test failure if there is not exactly one).
std::string only_error(const json& doc, const KnownIds& known = {}) {
    const RegistryParse p = parse(doc, known);
    if (p.errors.size() != 1) {
        std::string all;
        for (const auto& e : p.errors) all += "\n  " + e;
        ADD_FAILURE() << "expected exactly one error, got " << p.errors.size() << ":" << all;
        return "";
    }
    return p.errors.front();
}

// The first error of `doc`, for a record others refer to: the records that
// refer to it are left out too and report their reference as unknown, but
// nothing else may go wrong.
std::string first_error(const json& doc, const KnownIds& known = {}) {
    const RegistryParse p = parse(doc, known);
    if (p.errors.empty()) {
        ADD_FAILURE() << "expected an error";
        return "";
    }
    for (std::size_t i = 1; i < p.errors.size(); ++i) {
        EXPECT_NE(p.errors[i].find(" is an unknown "), std::string::npos) << p.errors[i];
    }
    return p.errors.front();
}

json with(json doc, const std::string& pointer, json value) {
    doc[json::json_pointer(pointer)] = std::move(value);
    return doc;
}

json without(json doc, const std::string& pointer, const std::string& key) {
    doc[json::json_pointer(pointer)].erase(key);
    return doc;
}

// ---------------------------------------------------------------- a valid file

TEST(RegistryImport, TheContractExampleIsValid) {
    const RegistryParse p = parse(example());
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    const Registry& r = p.registry;

    ASSERT_EQ(r.districts.size(), 1u);
    EXPECT_EQ(r.districts[0].id, "D-1");
    EXPECT_EQ(r.districts[0].name, "Jianghan");
    EXPECT_EQ(r.districts[0].sla.arrival_s, 300);
    EXPECT_FALSE(r.districts[0].sla.ack_s.has_value());

    ASSERT_EQ(r.schools.size(), 1u);
    EXPECT_EQ(r.schools[0].id, "S-1");
    EXPECT_EQ(r.schools[0].name, "No.1 Primary");
    EXPECT_EQ(r.schools[0].district, "D-1");
    EXPECT_DOUBLE_EQ(r.schools[0].location.lat, 30.5928);
    EXPECT_DOUBLE_EQ(r.schools[0].location.lon, 114.3055);

    ASSERT_EQ(r.terminals.size(), 1u);
    EXPECT_EQ(r.terminals[0].id, "T-0001");
    EXPECT_EQ(r.terminals[0].school, "S-1");
    EXPECT_TRUE(r.terminals[0].enabled);

    ASSERT_EQ(r.units.size(), 1u);
    EXPECT_EQ(r.units[0].id, "P-12");
    EXPECT_EQ(r.units[0].callsign, "Patrol 12");
    EXPECT_EQ(r.units[0].district, "D-1");
    EXPECT_DOUBLE_EQ(r.units[0].home.lat, 30.59);
    EXPECT_DOUBLE_EQ(r.units[0].home.lon, 114.29);

    ASSERT_EQ(r.guard_posts.size(), 1u);
    const GuardPost& g = r.guard_posts[0];
    EXPECT_EQ(g.school, "S-1");
    EXPECT_EQ(g.unit, "P-12");
    EXPECT_EQ(g.days, "mon-fri");
    EXPECT_EQ(g.weekday_mask, 0x1Fu);
    EXPECT_EQ(g.tz, "Asia/Shanghai");
    ASSERT_EQ(g.windows.size(), 2u);
    EXPECT_EQ(g.windows[0].begin_min, 420);
    EXPECT_EQ(g.windows[0].end_min, 510);
    EXPECT_EQ(g.windows[1].begin_min, 990);
    EXPECT_EQ(g.windows[1].end_min, 1080);
    EXPECT_EQ(g.window_texts, (std::vector<std::string>{"07:00-08:30", "16:30-18:00"}));
}

TEST(RegistryImport, EmptyObjectIsAValidEmptyRegistry) {
    const RegistryParse p = parse_registry("{}", {});
    EXPECT_TRUE(p.errors.empty());
    EXPECT_TRUE(p.registry.districts.empty());
    EXPECT_TRUE(p.registry.guard_posts.empty());
}

TEST(RegistryImport, OptionalFieldsTakeTheirDefaults) {
    json doc = example();
    doc["districts"][0].erase("sla");
    doc["terminals"][0].erase("enabled");
    doc["units"][0].erase("callsign");
    doc["guard_posts"][0].erase("tz");
    const RegistryParse p = parse(doc);
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    EXPECT_FALSE(p.registry.districts[0].sla.arrival_s.has_value());
    EXPECT_TRUE(p.registry.terminals[0].enabled);
    EXPECT_EQ(p.registry.units[0].callsign, "P-12");  // the id stands in
    EXPECT_TRUE(p.registry.units[0].enabled);
    EXPECT_EQ(p.registry.guard_posts[0].tz, "Asia/Shanghai");
}

TEST(RegistryImport, DisabledTerminalAndBothSlaOverrides) {
    json doc = with(example(), "/terminals/0/enabled", false);
    doc = with(doc, "/districts/0/sla", json{{"ack_s", 45}, {"arrival_s", 240}});
    const RegistryParse p = parse(doc);
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    EXPECT_FALSE(p.registry.terminals[0].enabled);
    EXPECT_EQ(p.registry.districts[0].sla.ack_s, 45);
    EXPECT_EQ(p.registry.districts[0].sla.arrival_s, 240);
}

TEST(RegistryImport, AUnitCanBeDisabledAndEnabledMustBeABoolean) {
    const RegistryParse p = parse(with(example(), "/units/0/enabled", false));
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    EXPECT_FALSE(p.registry.units[0].enabled);
    EXPECT_EQ(first_error(with(example(), "/units/0/enabled", "no")),
              "units[0] (id \"P-12\"): field \"enabled\" must be true or false");
}

TEST(RegistryImport, SectionOrderInTheFileDoesNotMatter) {
    // Schools written before their districts still find them.
    const std::string text = R"({
      "guard_posts": [{"school":"S-1","unit":"P-12","days":"daily","windows":["00:00-24:00"]}],
      "terminals": [{"id":"T-1","school":"S-1"}],
      "schools":   [{"id":"S-1","name":"A","district":"D-1","lat":0,"lon":0}],
      "units":     [{"id":"P-12","district":"D-1","lat":0,"lon":0}],
      "districts": [{"id":"D-1","name":"Jianghan"}]
    })";
    const RegistryParse p = parse_registry(text, {});
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    EXPECT_EQ(p.registry.guard_posts[0].weekday_mask, 0x7Fu);
    EXPECT_EQ(p.registry.guard_posts[0].windows[0].end_min, 1440);
}

TEST(RegistryImport, BoundaryCoordinatesAreAccepted) {
    json doc = with(example(), "/schools/0/lat", -90);
    doc = with(doc, "/schools/0/lon", 180);
    doc = with(doc, "/units/0/lat", 90.0);
    doc = with(doc, "/units/0/lon", -180.0);
    EXPECT_TRUE(parse(doc).errors.empty());
}

TEST(RegistryImport, SeveralRecordsPerSection) {
    json doc = example();
    doc["districts"].push_back({{"id", "D-2"}, {"name", "Wuchang"}});
    doc["schools"].push_back({{"id", "S-2"},
                              {"name", "No.2 Middle"},
                              {"district", "D-2"},
                              {"lat", 30.55},
                              {"lon", 114.31}});
    doc["terminals"].push_back({{"id", "T-0002"}, {"school", "S-2"}});
    doc["terminals"].push_back({{"id", "T-0003"}, {"school", "S-1"}});
    const RegistryParse p = parse(doc);
    ASSERT_TRUE(p.errors.empty()) << p.errors.front();
    EXPECT_EQ(p.registry.districts.size(), 2u);
    EXPECT_EQ(p.registry.schools.size(), 2u);
    EXPECT_EQ(p.registry.terminals.size(), 3u);
    EXPECT_EQ(p.registry.terminals[2].id, "T-0003");  // file order is kept
}

// ---------------------------------------------------------------- references and KnownIds

TEST(RegistryImport, UnknownDistrictIsNamedWithRecordIndexAndId) {
    json doc = example();
    doc["schools"].push_back(
        {{"id", "S-4"}, {"name", "x"}, {"district", "D-9"}, {"lat", 30}, {"lon", 114}});
    EXPECT_EQ(only_error(doc),
              "schools[1] (id \"S-4\"): field \"district\" \"D-9\" is an unknown district (neither "
              "in this file nor registered)");
}

TEST(RegistryImport, UnitOfAnUnknownDistrict) {
    EXPECT_EQ(first_error(with(example(), "/units/0/district", "D-2")),
              "units[0] (id \"P-12\"): field \"district\" \"D-2\" is an unknown district (neither "
              "in this file nor registered)");
}

TEST(RegistryImport, TerminalOfAnUnknownSchool) {
    EXPECT_EQ(only_error(with(example(), "/terminals/0/school", "S-9")),
              "terminals[0] (id \"T-0001\"): field \"school\" \"S-9\" is an unknown school "
              "(neither in this file nor registered)");
}

TEST(RegistryImport, KnownIdsAllowReferencesToRegisteredRecords) {
    const json doc = json::parse(R"({
      "schools":   [{"id":"S-7","name":"x","district":"D-OLD","lat":30,"lon":114}],
      "terminals": [{"id":"T-7","school":"S-OLD"}],
      "units":     [{"id":"P-7","district":"D-OLD","lat":30,"lon":114}],
      "guard_posts": [{"school":"S-OLD","unit":"P-OLD","days":"sat,sun","windows":["09:00-10:00"]}]
    })");
    KnownIds known;
    known.districts = {"D-OLD"};
    known.schools = {"S-OLD"};
    known.units = {"P-OLD"};
    const RegistryParse p = parse(doc, known);
    EXPECT_TRUE(p.errors.empty()) << p.errors.front();
    EXPECT_EQ(p.registry.schools.size(), 1u);
    EXPECT_EQ(p.registry.terminals.size(), 1u);
    EXPECT_EQ(p.registry.units.size(), 1u);
    EXPECT_EQ(p.registry.guard_posts.size(), 1u);
    EXPECT_EQ(p.registry.guard_posts[0].weekday_mask, 0x60u);

    // Without them, each reference is an error.
    const RegistryParse bare = parse(doc);
    EXPECT_EQ(bare.errors.size(), 5u);
    EXPECT_TRUE(bare.registry.schools.empty());
    EXPECT_TRUE(bare.registry.guard_posts.empty());
}

TEST(RegistryImport, RecordsAlreadyRegisteredMayBeImportedAgain) {
    // Import is an idempotent upsert: ids that exist are not duplicates.
    KnownIds known;
    known.districts = {"D-1"};
    known.schools = {"S-1"};
    known.units = {"P-12"};
    const RegistryParse p = parse(example(), known);
    EXPECT_TRUE(p.errors.empty());
    EXPECT_EQ(p.registry.schools.size(), 1u);
}

TEST(RegistryImport, ReferenceToAnInvalidRecordOfTheFileIsAlsoReported) {
    json doc = with(example(), "/districts/0/name", "");
    const RegistryParse p = parse(doc);
    // The district is left out, so the school and unit in it are too, and so on down.
    ASSERT_EQ(p.errors.size(), 6u);
    EXPECT_EQ(p.errors[0], "districts[0] (id \"D-1\"): field \"name\" must be a non-empty string");
    EXPECT_EQ(p.errors[1].rfind("schools[0] (id \"S-1\"): field \"district\"", 0), 0u)
        << p.errors[1];
    EXPECT_EQ(p.errors[2].rfind("terminals[0] (id \"T-0001\"): field \"school\"", 0), 0u)
        << p.errors[2];
    EXPECT_EQ(p.errors[3].rfind("units[0] (id \"P-12\"): field \"district\"", 0), 0u)
        << p.errors[3];
    EXPECT_EQ(p.errors[4], "guard_posts[0]: field \"school\" \"S-1\" is an unknown school");
    EXPECT_EQ(p.errors[5], "guard_posts[0]: field \"unit\" \"P-12\" is an unknown unit");
    EXPECT_TRUE(p.registry.districts.empty());
    EXPECT_TRUE(p.registry.terminals.empty());
}

// ---------------------------------------------------------------- field errors

TEST(RegistryImport, LatitudeOutOfRange) {
    EXPECT_EQ(first_error(with(example(), "/schools/0/lat", 91)),
              "schools[0] (id \"S-1\"): field \"lat\" is out of range (91 not in -90..90)");
    EXPECT_EQ(first_error(with(example(), "/units/0/lat", -90.5)),
              "units[0] (id \"P-12\"): field \"lat\" is out of range (-90.5 not in -90..90)");
}

TEST(RegistryImport, LongitudeOutOfRange) {
    EXPECT_EQ(first_error(with(example(), "/schools/0/lon", 181)),
              "schools[0] (id \"S-1\"): field \"lon\" is out of range (181 not in -180..180)");
}

TEST(RegistryImport, CoordinatesMustBeNumbers) {
    EXPECT_EQ(first_error(with(example(), "/schools/0/lat", "30.59")),
              "schools[0] (id \"S-1\"): field \"lat\" must be a number");
    EXPECT_EQ(first_error(without(example(), "/units/0", "lon")),
              "units[0] (id \"P-12\"): field \"lon\" is missing");
}

TEST(RegistryImport, DuplicateIdInTheFile) {
    json doc = example();
    doc["districts"].push_back({{"id", "D-1"}, {"name", "Again"}});
    EXPECT_EQ(first_error(doc), "districts[1] (id \"D-1\"): duplicate id \"D-1\" in this file");

    doc = example();
    doc["terminals"].push_back({{"id", "T-0001"}, {"school", "S-1"}});
    EXPECT_EQ(only_error(doc),
              "terminals[1] (id \"T-0001\"): duplicate id \"T-0001\" in this file");

    doc = example();
    const json school = doc["schools"][0];
    doc["schools"].push_back(school);
    EXPECT_EQ(first_error(doc), "schools[1] (id \"S-1\"): duplicate id \"S-1\" in this file");

    doc = example();
    const json unit = doc["units"][0];
    doc["units"].push_back(unit);
    EXPECT_EQ(first_error(doc), "units[1] (id \"P-12\"): duplicate id \"P-12\" in this file");
}

TEST(RegistryImport, SameIdInDifferentSectionsIsNotADuplicate) {
    json doc = example();
    doc["units"][0]["id"] = "S-1";  // a unit and a school may share an id string
    doc["guard_posts"][0]["unit"] = "S-1";
    EXPECT_TRUE(parse(doc).errors.empty());
}

TEST(RegistryImport, UnknownFieldIsNamedWithRecordIndexAndId) {
    EXPECT_EQ(first_error(with(example(), "/schools/0/address", "1 Main St")),
              "schools[0] (id \"S-1\"): field \"address\" is not a known field");
    EXPECT_EQ(first_error(with(example(), "/districts/0/mayor", "x")),
              "districts[0] (id \"D-1\"): field \"mayor\" is not a known field");
    EXPECT_EQ(only_error(with(example(), "/terminals/0/model", "x")),
              "terminals[0] (id \"T-0001\"): field \"model\" is not a known field");
    EXPECT_EQ(first_error(with(example(), "/units/0/plate", "x")),
              "units[0] (id \"P-12\"): field \"plate\" is not a known field");
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/note", "x")),
              "guard_posts[0]: field \"note\" is not a known field");
}

TEST(RegistryImport, UnknownSlaField) {
    EXPECT_EQ(first_error(with(example(), "/districts/0/sla/response_s", 60)),
              "districts[0] (id \"D-1\"): field \"sla.response_s\" is not a known field");
}

TEST(RegistryImport, BadSlaValues) {
    for (const json& bad : {json(0), json(86401), json(1.5), json("60")}) {
        EXPECT_EQ(first_error(with(example(), "/districts/0/sla/ack_s", bad)),
                  "districts[0] (id \"D-1\"): field \"sla.ack_s\" must be an integer between 1 and "
                  "86400")
            << bad.dump();
    }
    EXPECT_EQ(first_error(with(example(), "/districts/0/sla", 300)),
              "districts[0] (id \"D-1\"): field \"sla\" must be an object");
}

TEST(RegistryImport, MissingRequiredFields) {
    EXPECT_EQ(first_error(without(example(), "/districts/0", "name")),
              "districts[0] (id \"D-1\"): field \"name\" is missing");
    EXPECT_EQ(first_error(without(example(), "/units/0", "district")),
              "units[0] (id \"P-12\"): field \"district\" is missing");
    EXPECT_EQ(only_error(without(example(), "/guard_posts/0", "days")),
              "guard_posts[0]: field \"days\" is missing");
}

TEST(RegistryImport, MissingIdNamesTheIndexOnly) {
    json doc = example();
    doc["terminals"].push_back({{"school", "S-1"}});
    EXPECT_EQ(only_error(doc), "terminals[1]: field \"id\" is missing");
}

TEST(RegistryImport, InvalidIds) {
    EXPECT_EQ(only_error(with(example(), "/terminals/0/id", "T 1")),
              "terminals[0]: field \"id\" must be 1-64 printable ASCII characters");
    EXPECT_EQ(only_error(with(example(), "/terminals/0/id", std::string(65, 'T'))),
              "terminals[0]: field \"id\" must be 1-64 printable ASCII characters");
    EXPECT_EQ(only_error(with(example(), "/terminals/0/id", 7)),
              "terminals[0]: field \"id\" must be a non-empty string");
}

TEST(RegistryImport, InvalidIdAndUnknownFieldAreBothReported) {
    json doc = with(example(), "/terminals/0/id", "T 1");
    doc = with(doc, "/terminals/0/colour", "red");
    const RegistryParse p = parse(doc);
    ASSERT_EQ(p.errors.size(), 2u);
    EXPECT_EQ(p.errors[0], "terminals[0]: field \"id\" must be 1-64 printable ASCII characters");
    EXPECT_EQ(p.errors[1], "terminals[0] (id \"T 1\"): field \"colour\" is not a known field");
}

TEST(RegistryImport, EnabledMustBeBoolean) {
    EXPECT_EQ(only_error(with(example(), "/terminals/0/enabled", "yes")),
              "terminals[0] (id \"T-0001\"): field \"enabled\" must be true or false");
}

TEST(RegistryImport, EmptyCallsignIsAnError) {
    EXPECT_EQ(first_error(with(example(), "/units/0/callsign", "")),
              "units[0] (id \"P-12\"): field \"callsign\" must be a non-empty string");
}

TEST(RegistryImport, RecordMustBeAnObject) {
    json doc = example();
    doc["schools"].push_back("S-2");
    const RegistryParse p = parse(doc);
    ASSERT_FALSE(p.errors.empty());
    EXPECT_EQ(p.errors[0], "schools[1]: must be an object");
    EXPECT_EQ(p.registry.schools.size(), 1u);
}

// ---------------------------------------------------------------- guard posts

TEST(RegistryImport, GuardPostOfUnknownSchoolOrUnit) {
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/school", "S-9")),
              "guard_posts[0]: field \"school\" \"S-9\" is an unknown school");
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/unit", "P-99")),
              "guard_posts[0]: field \"unit\" \"P-99\" is an unknown unit");
}

TEST(RegistryImport, GuardPostBadDays) {
    for (const char* bad : {"weekdays", "fri-mon", "Mon-Fri", "mon-", "mon,,fri", "mon, tue"}) {
        EXPECT_EQ(only_error(with(example(), "/guard_posts/0/days", bad)),
                  std::string("guard_posts[0]: field \"days\" \"") + bad +
                      "\" is not like \"mon-fri\" or \"sat,sun\"")
            << bad;
    }
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/days", "")),
              "guard_posts[0]: field \"days\" must be a non-empty string");
}

TEST(RegistryImport, GuardPostBadWindows) {
    EXPECT_EQ(
        only_error(with(example(), "/guard_posts/0/windows", json::array({"08:30-07:00"}))),
        "guard_posts[0]: field \"windows\" \"08:30-07:00\" is not a window like \"07:00-08:30\"");
    EXPECT_EQ(
        only_error(with(example(), "/guard_posts/0/windows", json::array({"07:00-08:30", 730}))),
        "guard_posts[0]: field \"windows\" 730 is not a window like \"07:00-08:30\"");
    for (const json& bad : {json::array(), json("07:00-08:30"), json(nullptr)}) {
        EXPECT_EQ(only_error(with(example(), "/guard_posts/0/windows", bad)),
                  "guard_posts[0]: field \"windows\" must be a non-empty array like "
                  "[\"07:00-08:30\"]")
            << bad.dump();
    }
    EXPECT_EQ(only_error(without(example(), "/guard_posts/0", "windows")),
              "guard_posts[0]: field \"windows\" must be a non-empty array like [\"07:00-08:30\"]");
}

TEST(RegistryImport, EveryBadWindowIsReported) {
    const RegistryParse p = parse(with(example(), "/guard_posts/0/windows",
                                       json::array({"7-8", "07:00-08:30", "25:00-26:00"})));
    ASSERT_EQ(p.errors.size(), 2u);
    EXPECT_NE(p.errors[0].find("\"7-8\""), std::string::npos);
    EXPECT_NE(p.errors[1].find("\"25:00-26:00\""), std::string::npos);
    EXPECT_TRUE(p.registry.guard_posts.empty());
}

TEST(RegistryImport, DuplicateGuardPost) {
    json doc = example();
    const json post = doc["guard_posts"][0];
    doc["guard_posts"].push_back(post);
    EXPECT_EQ(only_error(doc),
              "guard_posts[1]: duplicate guard post for school \"S-1\" and unit \"P-12\"");
}

TEST(RegistryImport, EmptyTimezoneIsAnError) {
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/tz", "")),
              "guard_posts[0]: field \"tz\" must be a non-empty string");
}

TEST(RegistryImport, AZoneOutsideTheTzDatabaseIsRefusedByName) {
    // Windows are computed in the zone (common/util/time_zone.hpp), so an
    // unknown one is refused at import, not skipped later.
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/tz", "Mars/Olympus")),
              "guard_posts[0]: field \"tz\" \"Mars/Olympus\" is not a known time zone (not in the "
              "tz database)");
    EXPECT_EQ(only_error(with(example(), "/guard_posts/0/tz", "UTC+8")),
              "guard_posts[0]: field \"tz\" \"UTC+8\" is not a known time zone (not in the tz "
              "database)");
    // Not a path either.
    EXPECT_NE(only_error(with(example(), "/guard_posts/0/tz", "../../etc/passwd")), "");
    // Zones with daylight saving time are known.
    EXPECT_TRUE(parse(with(example(), "/guard_posts/0/tz", "Europe/Berlin")).errors.empty());
}

// ---------------------------------------------------------------- file-level errors

TEST(RegistryImport, UnknownSection) {
    EXPECT_EQ(only_error(with(example(), "/zones", json::array())), "zones: unknown section");
    EXPECT_EQ(only_error(with(example(), "/school", json::array())), "school: unknown section");
}

TEST(RegistryImport, SectionMustBeAnArray) {
    EXPECT_EQ(only_error(with(example(), "/terminals", json::object())),
              "terminals: must be an array");
}

TEST(RegistryImport, NotJsonOrNotAnObject) {
    RegistryParse p = parse_registry("{\"districts\": [", {});
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0], "the file is not valid JSON");
    p = parse_registry("[]", {});
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0], "the file must hold a JSON object");
    p = parse_registry("", {});
    ASSERT_EQ(p.errors.size(), 1u);
    EXPECT_EQ(p.errors[0], "the file is not valid JSON");
}

TEST(RegistryImport, ErrorsAreCollectedAcrossTheWholeFile) {
    json doc = with(example(), "/schools/0/lat", 100);
    doc = with(doc, "/terminals/0/school", "S-9");
    doc = with(doc, "/guard_posts/0/days", "someday");
    doc = with(doc, "/extra", 1);
    const RegistryParse p = parse(doc);
    // The bad school also makes the guard post's and terminal's school unknown.
    ASSERT_GE(p.errors.size(), 4u);
    EXPECT_EQ(p.errors[0], "extra: unknown section");
    EXPECT_TRUE(p.registry.schools.empty());
    EXPECT_TRUE(p.registry.terminals.empty());
    EXPECT_TRUE(p.registry.guard_posts.empty());
    EXPECT_EQ(p.registry.districts.size(), 1u);
    EXPECT_EQ(p.registry.units.size(), 1u);
}

// ---------------------------------------------------------------- parse_weekdays

TEST(ParseWeekdays, RangesListsAndDaily) {
    EXPECT_EQ(parse_weekdays("mon"), 0x01u);
    EXPECT_EQ(parse_weekdays("sun"), 0x40u);
    EXPECT_EQ(parse_weekdays("mon-fri"), 0x1Fu);
    EXPECT_EQ(parse_weekdays("sat,sun"), 0x60u);
    EXPECT_EQ(parse_weekdays("mon,wed-fri"), 0x1Du);
    EXPECT_EQ(parse_weekdays("daily"), 0x7Fu);
    EXPECT_EQ(parse_weekdays("mon-sun"), 0x7Fu);
    EXPECT_EQ(parse_weekdays("wed-wed"), 0x04u);
    EXPECT_EQ(parse_weekdays("tue,tue"), 0x02u);
    EXPECT_EQ(parse_weekdays("sat-sun,mon"), 0x61u);
}

TEST(ParseWeekdays, UnderstoodTextOnly) {
    for (const char* bad : {"", "weekdays", "Mon", "MON-FRI", "monday", "fri-mon", "sun-mon",
                            "mon-", "-fri", "mon--fri", "mon-tue-wed", "mon,", ",mon", "mon,,tue",
                            "mon, tue", " mon", "mon ", "all"}) {
        EXPECT_EQ(parse_weekdays(bad), 0u) << '"' << bad << '"';
    }
}

// ---------------------------------------------------------------- parse_window

TEST(ParseWindow, ValidWindows) {
    MinuteWindow w;
    ASSERT_TRUE(parse_window("07:00-08:30", w));
    EXPECT_EQ(w.begin_min, 420);
    EXPECT_EQ(w.end_min, 510);
    ASSERT_TRUE(parse_window("00:00-24:00", w));
    EXPECT_EQ(w.begin_min, 0);
    EXPECT_EQ(w.end_min, 1440);
    ASSERT_TRUE(parse_window("23:59-24:00", w));
    EXPECT_EQ(w.begin_min, 1439);
    EXPECT_EQ(w.end_min, 1440);
    ASSERT_TRUE(parse_window("16:30-18:00", w));
    EXPECT_EQ(w.begin_min, 990);
    EXPECT_EQ(w.end_min, 1080);
    ASSERT_TRUE(parse_window("12:00-12:01", w));
    EXPECT_EQ(w.end_min - w.begin_min, 1);
}

TEST(ParseWindow, EmptyOrReversedWindows) {
    MinuteWindow w;
    EXPECT_FALSE(parse_window("08:30-08:30", w));  // empty
    EXPECT_FALSE(parse_window("08:30-07:00", w));  // reversed
    EXPECT_FALSE(parse_window("22:00-06:00", w));  // across midnight: write two windows
}

TEST(ParseWindow, OutOfRangeFields) {
    MinuteWindow w;
    for (const char* bad : {"24:00-24:30", "24:01-24:02", "07:60-08:00", "07:00-08:60",
                            "25:00-26:00", "00:00-24:01", "99:99-99:99"}) {
        EXPECT_FALSE(parse_window(bad, w)) << bad;
    }
}

TEST(ParseWindow, MalformedText) {
    MinuteWindow w;
    for (const char* bad :
         {"", "7:00-8:30", "07:00-8:30", "0700-0830", "07:00 08:30", "07.00-08.30", "07:00-08:30 ",
          " 07:00-08:30", "07:00-08:3x", "07:00-08:3 ", "+7:00-08:30", " 7:00-08:30", "07:00-+8:30",
          "07:00--8:30", "07:00-0x:30", "07:00–08:30" /* en dash */, "07:00-08:30-09:00",
          "ab:cd-ef:gh"}) {
        EXPECT_FALSE(parse_window(bad, w)) << '"' << bad << '"';
    }
}

}  // namespace
}  // namespace huxiao
