// Who may use which HTTP endpoint (contract §5 and 1.1): every endpoint ×
// every role, table-driven, against the real server; and district isolation
// for `education`, which is default-deny: a token sees exactly its districts,
// a token without districts sees nothing (issue #8 item 4, HTTP side).
//
// Console commands × role belong in the same style (one row per command).
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// A second district, D-2, next to the fixtures' D-1: everything in it carries
// a name no answer to a D-1 education token may contain.
const char* const kSecondDistrict = R"({
  "districts": [{"id": "D-2", "name": "Qiaokou"}],
  "schools": [{"id": "S-3", "name": "Secret Academy", "district": "D-2",
               "lat": 30.5700, "lon": 114.2500}],
  "terminals": [{"id": "T-3", "school": "S-3", "enabled": true}],
  "units": [{"id": "P-2", "callsign": "Hidden Patrol", "district": "D-2",
             "lat": 30.57, "lon": 114.25}],
  "guard_posts": [{"school": "S-3", "unit": "P-2", "days": "mon-sun",
                   "windows": ["00:00-23:59"], "tz": "Asia/Shanghai"}]
})";

// Every string that names something of D-2.
const char* const kOtherDistrictNames[] = {"D-2", "Qiaokou", "S-3",          "Secret Academy",
                                           "T-3", "P-2",     "Hidden Patrol"};

const char* const kRoles[] = {"admin", "dispatcher", "auditor", "education",
                              "unit",  "inspector",  "none",    "bad"};

std::string utc_date(std::chrono::system_clock::time_point t) {
    const std::time_t c = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&c, &tm);
    char text[16];
    std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
    return text;
}

struct Endpoint {
    std::string method;
    std::string target;
    std::string body;
    // Expected status per role; roles not named get `otherwise`.
    std::map<std::string, int> status;
    int otherwise;
};

class Access : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        std::ofstream(dir_ / "second.json") << kSecondDistrict;
        auto imported = run_huxiaod({"import", "--config", (dir_ / "huxiao.json").string(),
                                     (dir_ / "second.json").string()});
        ASSERT_EQ(imported.status, 0) << imported.err;
        terminal_certs_["T-3"] = certs_->terminal("T-3");
        start_server();
        tokens_["admin"] = make_token("admin", "root");
        tokens_["dispatcher"] = make_token("dispatcher", "desk");
        tokens_["auditor"] = make_token("auditor", "books");
        tokens_["education"] = education_token("edu-d1", "D-1");
        tokens_["unit"] = make_token("unit", "p1", "P-1");
        tokens_["inspector"] = make_token("inspector", "insp");
        tokens_["none"] = "";
        tokens_["bad"] = "hx_this_token_was_never_issued";
        d1_incident_ = raise_alarm("T-1");
        d2_incident_ = raise_alarm("T-3");
    }

    std::string education_token(const std::string& name, const std::string& districts) {
        auto r = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                              "--role", "education", "--name", name, "--districts", districts});
        if (r.status != 0) throw std::runtime_error("token create failed: " + r.err);
        return r.out.substr(0, r.out.find('\n'));
    }

    std::string raise_alarm(const std::string& terminal) {
        auto t = hello(terminal);
        t->send({{"type", "alarm"}, {"id", "A-" + terminal}, {"kind", "intrusion"}});
        auto ack = t->read_frame_of_type("ack");
        if (!ack) throw std::runtime_error("no ack for " + terminal);
        return (*ack)["incident"];
    }

    HttpReply call(const Endpoint& e, const std::string& token) {
        return https_request(api_port(), certs_->server_ca(), e.method, e.target, token, e.body);
    }

    std::vector<Endpoint> endpoints() const {
        const auto now = std::chrono::system_clock::now();
        const std::string day = utc_date(now);
        const std::string yesterday = utc_date(now - std::chrono::hours(24));
        const std::string range = "from=" + yesterday +
                                  "T00:00:00Z&to=" + utc_date(now + std::chrono::hours(24)) +
                                  "T00:00:00Z";
        const std::string posts = "from=" + yesterday + "&to=" + day;
        // Readers of incidents and reports.
        const std::map<std::string, int> readers = {
            {"admin", 200}, {"dispatcher", 200}, {"auditor", 200}, {"education", 200},
            {"unit", 403},  {"none", 401},       {"bad", 401},     {"inspector", 200}};
        auto only = [](std::map<std::string, int> ok) {
            for (const char* r :
                 {"admin", "dispatcher", "auditor", "education", "unit", "inspector"})
                ok.emplace(r, 403);
            ok.emplace("none", 401);
            ok.emplace("bad", 401);
            return ok;
        };
        const std::string school = R"({"id":"S-8","name":"New School","district":"D-1",)"
                                   R"("lat":30.58,"lon":114.31})";
        const auto inspection_readers =
            only({{"inspector", 200}, {"auditor", 200}, {"education", 200}, {"dispatcher", 200}});
        const auto inspection_404 =
            only({{"inspector", 404}, {"auditor", 404}, {"education", 404}, {"dispatcher", 404}});
        const auto safety_readers =
            only({{"inspector", 200}, {"auditor", 200}, {"education", 200}});
        const std::string inspection =
            R"({"school":"S-1","at":"2026-11-01T02:00:00Z","kind":"spot_check",)"
            R"("inspectors":["A"],"items":[{"code":"guards_staffed","result":"pass"}],)"
            R"("hazards":[{"category":"people","description":"d","responsible":"r",)"
            R"("deadline":"2026-12-01T00:00:00Z"}]})";
        return {
            {"GET", "/healthz", "", {}, 200},
            {"GET", "/readyz", "", {}, 200},
            {"GET", "/metrics", "", {}, 200},  // from loopback
            {"GET", "/", "", {}, 200},
            {"GET", "/js/main.js", "", {}, 200},
            {"GET", "/api/v1/incidents", "", readers, 0},
            {"GET", "/api/v1/incidents?status=open&limit=10", "", readers, 0},
            {"GET", "/api/v1/incidents/" + d1_incident_, "", readers, 0},
            {"GET", "/api/v1/incidents/" + d2_incident_, "",
             [&] {
                 auto m = readers;
                 m["education"] = 404;
                 return m;
             }(),
             0},
            {"GET", "/api/v1/reports/response-times?" + range + "&group_by=district", "", readers,
             0},
            {"GET", "/api/v1/reports/response-times?" + range + "&group_by=school", "", readers, 0},
            {"GET", "/api/v1/reports/response-times?" + range + "&group_by=unit", "", readers, 0},
            {"GET", "/api/v1/reports/response-times?" + range + "&group_by=kind", "", readers, 0},
            {"GET", "/api/v1/reports/response-times.csv?" + range + "&group_by=school", "", readers,
             0},
            {"GET", "/api/v1/terminals", "", readers, 0},
            {"GET", "/api/v1/terminals?status=online", "", readers, 0},
            {"GET", "/api/v1/reports/guard-posts?" + posts, "", readers, 0},
            {"GET", "/api/v1/reports/guard-posts.csv?" + posts, "", readers, 0},
            {"GET", "/api/v1/schools", "", only({{"admin", 200}, {"dispatcher", 200}}), 0},
            {"GET", "/api/v1/units", "", only({{"admin", 200}, {"dispatcher", 200}}), 0},
            {"GET", "/api/v1/guard-posts", "", only({{"admin", 200}, {"dispatcher", 200}}), 0},
            {"POST", "/api/v1/schools", school, only({{"admin", 200}}), 0},
            {"PUT", "/api/v1/schools/S-8", school, only({{"admin", 200}}), 0},
            {"PUT", "/api/v1/terminals/T-88", R"({"school":"S-8","enabled":false})",
             only({{"admin", 200}}), 0},
            {"DELETE", "/api/v1/terminals/T-404", "", only({{"admin", 404}}), 0},
            {"DELETE", "/api/v1/units/P-404", "", only({{"admin", 404}}), 0},
            {"DELETE", "/api/v1/schools/S-404", "", only({{"admin", 404}}), 0},
            {"DELETE", "/api/v1/guard-posts/S-404/P-404", "", only({{"admin", 404}}), 0},
            {"GET", "/api/v1/tokens", "", only({{"admin", 200}}), 0},
            {"POST", "/api/v1/tokens", R"({"name":"made-by-api","role":"auditor"})",
             only({{"admin", 201}}), 0},
            {"DELETE", "/api/v1/tokens/nobody", "", only({{"admin", 404}}), 0},
            // Inspections and hazards (contract §10).
            {"GET", "/api/v1/inspections", "", inspection_readers, 0},
            {"GET", "/api/v1/inspections/I-404", "", inspection_404, 0},
            {"GET", "/api/v1/hazards", "", inspection_readers, 0},
            {"GET", "/api/v1/hazards?status=overdue", "", inspection_readers, 0},
            {"GET", "/api/v1/hazards/H-404", "", inspection_404, 0},
            {"GET", "/api/v1/reports/school-safety", "", safety_readers, 0},
            {"GET", "/api/v1/reports/school-safety.csv", "", safety_readers, 0},
            {"POST", "/api/v1/inspections", inspection, only({{"inspector", 201}}), 0},
            {"POST", "/api/v1/hazards/H-404/rectify", R"({"note":"done"})",
             only({{"inspector", 404}, {"education", 404}}), 0},
            {"POST", "/api/v1/hazards/H-404/verify", R"({"accepted":true})",
             only({{"inspector", 404}}), 0},
            {"GET", "/api/v1/nothing-here", "", {}, 404},
        };
    }

    std::map<std::string, std::string> tokens_;
    std::string d1_incident_, d2_incident_;
};

TEST_F(Access, EveryEndpointTimesEveryRole) {
    std::vector<std::pair<std::string, HttpReply>> education_answers;
    for (const Endpoint& e : endpoints()) {
        for (const char* role : kRoles) {
            const auto it = e.status.find(role);
            const int expected = it == e.status.end() ? e.otherwise : it->second;
            const HttpReply r = call(e, tokens_.at(role));
            EXPECT_EQ(r.status, expected)
                << e.method << " " << e.target << " as " << role << ": " << r.body.substr(0, 300);
            if (r.status >= 400 && e.target.rfind("/api/", 0) == 0) {
                EXPECT_TRUE(r.json().contains("error")) << e.target << " as " << role;
            }
            if (std::string(role) == "education" && e.target.rfind("/api/", 0) == 0)
                education_answers.emplace_back(e.target, r);
        }
    }
    // Nothing an education token of D-1 receives names anything of D-2.
    for (const auto& [target, r] : education_answers) {
        for (const char* name : kOtherDistrictNames) {
            EXPECT_EQ(r.body.find(name), std::string::npos)
                << target << " shows \"" << name << "\" to education D-1: " << r.body;
        }
        // (A 404 may repeat the id the client asked for; nothing else may name it.)
        if (target.find(d2_incident_) == std::string::npos) {
            EXPECT_EQ(r.body.find(d2_incident_), std::string::npos) << target;
        }
    }
}

TEST_F(Access, EducationSeesItsOwnDistrictButNoOther) {
    const std::string& edu = tokens_.at("education");
    auto list = get("/api/v1/incidents", edu);
    ASSERT_EQ(list.status, 200);
    ASSERT_EQ(list.json()["items"].size(), 1u) << list.body;
    EXPECT_EQ(list.json()["items"][0]["id"], d1_incident_);
    // Asking for the other district by name does not widen the scope.
    auto other = get("/api/v1/incidents?district=D-2", edu);
    ASSERT_EQ(other.status, 200);
    EXPECT_EQ(other.json()["items"].size(), 0u) << other.body;
    auto terminals = get("/api/v1/terminals", edu);
    ASSERT_EQ(terminals.status, 200);
    const auto visible = terminals.json();  // kept: a range-for over json()[...] would dangle
    EXPECT_FALSE(visible["items"].empty()) << terminals.body;
    for (const auto& t : visible["items"]) EXPECT_EQ(t["district"], "D-1") << t;
    // The dispatcher sees both.
    auto all = get("/api/v1/incidents", tokens_.at("dispatcher"));
    EXPECT_EQ(all.json()["items"].size(), 2u) << all.body;
}

TEST_F(Access, AnEducationTokenWithoutDistrictsCannotBeCreated) {
    // The CLI refuses it before touching the database.
    auto cli = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                            "--role", "education", "--name", "edu-all"});
    EXPECT_NE(cli.status, 0);
    EXPECT_NE(cli.err.find("--districts: an education token needs --districts"), std::string::npos)
        << cli.err;
    auto blank = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                              "--role", "education", "--name", "edu-all", "--districts", ","});
    EXPECT_NE(blank.status, 0);
    auto unknown = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                                "--role", "education", "--name", "edu-x", "--districts", "D-9"});
    EXPECT_NE(unknown.status, 0);
    EXPECT_NE(unknown.err.find("unknown district \"D-9\""), std::string::npos) << unknown.err;

    // The admin API answers 400 naming the problem.
    const std::string& admin = tokens_.at("admin");
    for (const char* body : {R"({"name":"edu-a","role":"education"})",
                             R"({"name":"edu-b","role":"education","districts":[]})",
                             R"({"name":"edu-c","role":"education","districts":null})",
                             R"({"name":"edu-d","role":"education","districts":[""]})",
                             R"({"name":"edu-e","role":"education","districts":"D-1"})",
                             R"({"name":"edu-f","role":"education","districts":[["D-1"]]})",
                             R"({"name":"edu-g","role":"education","districts":["D-1,D-2"]})"}) {
        auto r =
            https_request(api_port(), certs_->server_ca(), "POST", "/api/v1/tokens", admin, body);
        EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
        EXPECT_EQ(r.json()["error"], "bad_body") << body;
    }
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM api_tokens WHERE name LIKE 'edu-_'"), "0");

    // With districts it works, and the token sees its district.
    auto ok = https_request(api_port(), certs_->server_ca(), "POST", "/api/v1/tokens", admin,
                            R"({"name":"edu-ok","role":"education","districts":["D-2"]})");
    ASSERT_EQ(ok.status, 201) << ok.body;
    auto seen = get("/api/v1/incidents", ok.json()["token"].get<std::string>());
    ASSERT_EQ(seen.status, 200);
    ASSERT_EQ(seen.json()["items"].size(), 1u);
    EXPECT_EQ(seen.json()["items"][0]["id"], d2_incident_);

    // And the database itself refuses one (sql/006_security.sql).
    EXPECT_THROW(db_->column("INSERT INTO api_tokens (name, role, districts, token_hash) "
                             "VALUES ('edu-sql', 'education', '{}', '\\x00') RETURNING 1"),
                 std::exception);
    EXPECT_THROW(db_->column("INSERT INTO api_tokens (name, role, token_hash) "
                             "VALUES ('edu-sql', 'education', '\\x01') RETURNING 1"),
                 std::exception);
}

TEST_F(Access, AnOldEducationTokenWithoutDistrictsSeesNothing) {
    // A token made before sql/006 (the constraint is NOT VALID, so such rows
    // may exist): put one in as an older server would have.
    db_->column("ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_education_has_districts");
    const std::string legacy = "hx_legacy_education_token_without_any_district";
    db_->column(
        "INSERT INTO api_tokens (name, role, districts, token_hash) VALUES "
        "('edu-legacy', 'education', NULL, sha256(convert_to($1, 'UTF8'))) RETURNING 1",
        {legacy});
    db_->column(
        "ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_education_has_districts CHECK "
        "(role <> 'education' OR (districts IS NOT NULL AND cardinality(districts) > 0)) "
        "NOT VALID");
    auto list = get("/api/v1/incidents", legacy);
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.json()["items"].size(), 0u) << list.body;
    EXPECT_EQ(get("/api/v1/incidents/" + d1_incident_, legacy).status, 404);
    auto terminals = get("/api/v1/terminals", legacy);
    ASSERT_EQ(terminals.status, 200);
    EXPECT_EQ(terminals.json()["items"].size(), 0u) << terminals.body;
    const auto now = std::chrono::system_clock::now();
    const std::string range = "from=" + utc_date(now - std::chrono::hours(24)) +
                              "T00:00:00Z&to=" + utc_date(now + std::chrono::hours(24)) +
                              "T00:00:00Z";
    for (const char* group : {"district", "school", "unit", "kind"}) {
        auto report = get("/api/v1/reports/response-times?" + range + "&group_by=" + group, legacy);
        ASSERT_EQ(report.status, 200) << report.body;
        const auto groups = report.json()["groups"];
        for (const auto& g : groups) EXPECT_EQ(g["count"], 0) << group << g;
    }
    auto csv = get("/api/v1/reports/response-times.csv?" + range + "&group_by=school", legacy);
    ASSERT_EQ(csv.status, 200);
    for (const char* name : {"S-1", "S-3", "No.1 Primary", "Secret Academy"})
        EXPECT_EQ(csv.body.find(name), std::string::npos) << csv.body;
    auto posts = get("/api/v1/reports/guard-posts?from=" + utc_date(now - std::chrono::hours(24)) +
                         "&to=" + utc_date(now),
                     legacy);
    ASSERT_EQ(posts.status, 200) << posts.body;
    EXPECT_EQ(posts.body.find("S-1"), std::string::npos) << posts.body;
    EXPECT_EQ(posts.body.find("S-3"), std::string::npos) << posts.body;
}

}  // namespace
}  // namespace huxiao::test
