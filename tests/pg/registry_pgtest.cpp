// Migrations and registry import against the real PostgreSQL, through the
// real `huxiaod migrate` / `huxiaod import` commands.
#include <gtest/gtest.h>

#include <fstream>

#include "server/db/migrations.hpp"
#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

class Registry : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("huxiao-pg");
        certs_ = std::make_unique<CertFactory>(dir_ / "certs");
        std::ofstream(config_path()) << test_config(db_.url(), *certs_).dump(2);
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string config_path() const { return (dir_ / "huxiao.json").string(); }
    CommandResult import_text(const std::string& text) {
        const auto file = dir_ / "registry.json";
        std::ofstream(file) << text;
        return run_huxiaod({"import", "--config", config_path(), file.string()});
    }
    std::string count(const std::string& table) const {
        return db_.scalar("SELECT count(*) FROM " + table);
    }

    TestDatabase db_;
    std::filesystem::path dir_;
    std::unique_ptr<CertFactory> certs_;
};

TEST_F(Registry, MigrationsApplyOnceAndAreRecorded) {
    auto first = run_huxiaod({"migrate", "--config", config_path()});
    ASSERT_EQ(first.status, 0) << first.err;
    EXPECT_NE(first.out.find("001_schema.sql"), std::string::npos) << first.out;
    auto second = run_huxiaod({"migrate", "--config", config_path()});
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(second.out, "schema is up to date\n");
    EXPECT_EQ(count("schema_migrations"), std::to_string(db::embedded_migrations().size()));
}

TEST_F(Registry, ImportIsIdempotent) {
    auto first = import_text(kSmallRegistry);
    ASSERT_EQ(first.status, 0) << first.err;
    EXPECT_EQ(first.out, "imported 1 districts, 2 schools, 4 terminals, 1 units, 1 guard posts\n");
    auto second = import_text(kSmallRegistry);
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(count("districts"), "1");
    EXPECT_EQ(count("schools"), "2");
    EXPECT_EQ(count("terminals"), "4");
    EXPECT_EQ(count("units"), "1");
    EXPECT_EQ(count("guard_posts"), "1");
    EXPECT_EQ(db_.scalar("SELECT enabled::text FROM terminals WHERE id = 'T-9'"), "false");
    EXPECT_EQ(db_.scalar("SELECT array_to_string(windows, ' ') FROM guard_posts"),
              "07:00-08:30 16:30-18:00");
}

TEST_F(Registry, ImportUpdatesExistingRecords) {
    ASSERT_EQ(import_text(kSmallRegistry).status, 0);
    auto moved = import_text(R"json({"schools": [{"id": "S-1", "name": "No.1 Primary (new campus)",
                                 "district": "D-1", "lat": 30.6, "lon": 114.31}]})json");
    ASSERT_EQ(moved.status, 0) << moved.err;
    EXPECT_EQ(db_.scalar("SELECT name || ' ' || lat FROM schools WHERE id = 'S-1'"),
              "No.1 Primary (new campus) 30.6");
    EXPECT_EQ(count("schools"), "2");
}

TEST_F(Registry, InvalidFileImportsNothingAndNamesEachProblem) {
    auto result = import_text(R"json({
      "districts": [{"id": "D-1", "name": "Jianghan"}],
      "schools": [
        {"id": "S-1", "name": "Fine", "district": "D-1", "lat": 30.5, "lon": 114.3},
        {"id": "S-2", "name": "Lost", "district": "D-9", "lat": 30.5, "lon": 114.3},
        {"id": "S-3", "name": "Polar", "district": "D-1", "lat": 130.5, "lon": 114.3},
        {"id": "S-1", "name": "Twin", "district": "D-1", "lat": 30.5, "lon": 114.3}
      ],
      "terminals": [{"id": "T-1", "school": "S-77"}]
    })json");
    EXPECT_NE(result.status, 0);
    EXPECT_NE(result.err.find(
                  "schools[1] (id \"S-2\"): field \"district\" \"D-9\" is an unknown district"),
              std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("schools[2] (id \"S-3\"): field \"lat\" is out of range"),
              std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("schools[3] (id \"S-1\"): duplicate id \"S-1\""), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find(
                  "terminals[0] (id \"T-1\"): field \"school\" \"S-77\" is an unknown school"),
              std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("nothing was imported"), std::string::npos);
    // The valid records of the file were not imported either.
    EXPECT_EQ(count("districts"), "0");
    EXPECT_EQ(count("schools"), "0");
}

TEST_F(Registry, AZoneOutsideTheTzDatabaseIsRefusedByName) {
    ASSERT_EQ(import_text(kSmallRegistry).status, 0);
    auto result =
        import_text(R"json({"guard_posts": [{"school": "S-2", "unit": "P-1", "days": "mon-fri",
                                  "windows": ["07:00-08:00"], "tz": "Mars/Olympus"}]})json");
    EXPECT_NE(result.status, 0);
    EXPECT_NE(
        result.err.find("guard_posts[0]: field \"tz\" \"Mars/Olympus\" is not a known time zone"),
        std::string::npos)
        << result.err;
    EXPECT_EQ(count("guard_posts"), "1");
}

TEST_F(Registry, ReferencesToAlreadyRegisteredRecordsAreAccepted) {
    ASSERT_EQ(import_text(kSmallRegistry).status, 0);
    auto result = import_text(R"json({"terminals": [{"id": "T-3", "school": "S-2"}]})json");
    ASSERT_EQ(result.status, 0) << result.err;
    EXPECT_EQ(db_.scalar("SELECT school_id FROM terminals WHERE id = 'T-3'"), "S-2");
}

TEST_F(Registry, TokensAreStoredHashedAndCheckedForRoleAndUnit) {
    ASSERT_EQ(import_text(kSmallRegistry).status, 0);
    auto token = run_huxiaod(
        {"token", "create", "--config", config_path(), "--role", "dispatcher", "--name", "desk-1"});
    ASSERT_EQ(token.status, 0) << token.err;
    const std::string value = token.out.substr(0, token.out.size() - 1);
    EXPECT_EQ(value.rfind("hx_", 0), 0u) << value;
    EXPECT_EQ(db_.scalar("SELECT count(*) FROM api_tokens WHERE position($1 in encode(token_hash, "
                         "'escape')) > 0",
                         {value}),
              "0");
    EXPECT_EQ(db_.scalar("SELECT encode(token_hash, 'hex') FROM api_tokens WHERE name = 'desk-1'"),
              db_.scalar("SELECT encode(sha256($1::bytea), 'hex')", {value}));

    auto unit = run_huxiaod({"token", "create", "--config", config_path(), "--role", "unit",
                             "--name", "p1", "--unit", "P-1"});
    EXPECT_EQ(unit.status, 0) << unit.err;
    auto no_unit = run_huxiaod(
        {"token", "create", "--config", config_path(), "--role", "unit", "--name", "p2"});
    EXPECT_NE(no_unit.status, 0);
    EXPECT_NE(no_unit.err.find("--unit"), std::string::npos) << no_unit.err;
    auto bad_role = run_huxiaod(
        {"token", "create", "--config", config_path(), "--role", "mayor", "--name", "x"});
    EXPECT_NE(bad_role.status, 0);
    EXPECT_NE(bad_role.err.find("mayor"), std::string::npos) << bad_role.err;
    auto duplicate = run_huxiaod(
        {"token", "create", "--config", config_path(), "--role", "auditor", "--name", "desk-1"});
    EXPECT_NE(duplicate.status, 0);
}

TEST_F(Registry, TimelineIsAppendOnly) {
    ASSERT_EQ(import_text(kSmallRegistry).status, 0);
    db::PgSync c(db_.url());
    c.exec(
        "INSERT INTO incidents (id, school_id, district_id, kind, received_at, last_alarm_at) "
        "VALUES ('I-1', 'S-1', 'D-1', 'fire', now(), now())");
    c.exec(
        "INSERT INTO incident_events (incident_id, at, type, actor) VALUES ('I-1', now(), 'note', "
        "'x')");
    EXPECT_THROW(c.exec("UPDATE incident_events SET actor = 'y'"), std::runtime_error);
    EXPECT_THROW(c.exec("DELETE FROM incident_events"), std::runtime_error);
    EXPECT_EQ(db_.scalar("SELECT actor FROM incident_events"), "x");
}

TEST(Cli, ErrorsAreOneLineNamingTheProblem) {
    auto missing = run_huxiaod({"migrate", "--config", "/nonexistent/huxiao.json"});
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.err.find("/nonexistent/huxiao.json"), std::string::npos) << missing.err;

    const auto dir = make_temp_dir("huxiao-cli");
    std::ofstream(dir / "bad.json") << R"json({"database": {"url": "postgresql://x@127.0.0.1:1/x"},
        "dispatch": {"offer_timeout": 20}})json";
    auto typo = run_huxiaod({"migrate", "--config", (dir / "bad.json").string()});
    EXPECT_NE(typo.status, 0);
    EXPECT_NE(typo.err.find("dispatch.offer_timeout: unknown key"), std::string::npos) << typo.err;

    CertFactory certs(dir / "certs");
    auto config = test_config(
        "postgresql://huxiao@127.0.0.1:" + std::to_string(free_tcp_port()) + "/x", certs);
    std::ofstream(dir / "unreachable.json") << config.dump();
    auto unreachable = run_huxiaod({"migrate", "--config", (dir / "unreachable.json").string()});
    EXPECT_NE(unreachable.status, 0);
    EXPECT_NE(unreachable.err.find("cannot connect to the database"), std::string::npos)
        << unreachable.err;

    auto unknown = run_huxiaod({"frobnicate"});
    EXPECT_EQ(unknown.status, 2);
    EXPECT_NE(unknown.err.find("unknown command \"frobnicate\""), std::string::npos);

    auto version = run_huxiaod({"version"});
    EXPECT_EQ(version.status, 0);
    EXPECT_EQ(version.out.rfind("huxiaod ", 0), 0u);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace huxiao::test
