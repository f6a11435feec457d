// Inspections and hazards end to end (issue 14, contract §10): a real huxiaod
// and PostgreSQL. Every endpoint against every role (education tokens limited
// to their districts, default deny), fields named in 400s, the hazard life
// cycle with its append-only history, overdue detection, and the
// school-safety report against values computed here from what was stored.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/util/time.hpp"
#include "server/base/clock.hpp"
#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

constexpr UnixMicros kHour = 3600LL * kMicrosPerSecond;
constexpr UnixMicros kDay = 24 * kHour;

std::string iso(UnixMicros t) { return format_iso_millis(t); }

class Inspections : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        // A second district whose one school has a name a spreadsheet would run.
        db_->column("INSERT INTO districts (id, name) VALUES ('D-2', 'Hanyang')");
        db_->column(
            "INSERT INTO schools (id, name, district_id, lat, lon)"
            " VALUES ('S-3', '=HYPERLINK(\"http://x\")', 'D-2', 30.55, 114.22)");
        start_server();
        inspector_ = make_token("inspector", "wang-li");
        auditor_ = make_token("auditor", "audit-1");
        dispatcher_ = make_token("dispatcher", "desk-1");
        admin_ = make_token("admin", "root-1");
        unit_ = make_token("unit", "patrol-1", "P-1");
        edu_d1_ = token_with_districts("education", "bureau-jianghan", "D-1");
        edu_d2_ = token_with_districts("education", "bureau-hanyang", "D-2");
        // Tokens with no districts cannot be made any more (contract 1.1); one
        // from before must see nothing, never everything.
        // Put in as an older server would have (sql/006's check is NOT VALID).
        db_->column("ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_education_has_districts");
        edu_none_ = "hx_legacy_education_token_with_null_districts";
        edu_empty_ = "hx_legacy_education_token_with_empty_districts";
        for (const auto& [name, token, districts] :
             {std::tuple{"bureau-old", edu_none_, "NULL"},
              std::tuple{"bureau-empty", edu_empty_, "'{}'::text[]"}}) {
            db_->column(std::string("INSERT INTO api_tokens (name, role, districts, token_hash)"
                                    " VALUES ($1, 'education', ") +
                            districts + ", sha256(convert_to($2, 'UTF8'))) RETURNING 1",
                        {name, token});
        }
        db_->column(
            "ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_education_has_districts CHECK "
            "(role <> 'education' OR (districts IS NOT NULL AND cardinality(districts) > 0)) "
            "NOT VALID");
    }

    std::string token_with_districts(const std::string& role, const std::string& name,
                                     const std::string& districts) {
        auto r = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                              "--role", role, "--name", name, "--districts", districts});
        EXPECT_EQ(r.status, 0) << r.err;
        return r.out.substr(0, r.out.find('\n'));
    }

    HttpReply post(const std::string& target, const std::string& token, const std::string& body) {
        return https_request(api_port(), certs_->server_ca(), "POST", target, token, body);
    }

    json inspection_body(const std::string& school, UnixMicros at,
                         std::vector<UnixMicros> deadlines) {
        json b = {{"school", school},
                  {"at", iso(at)},
                  {"kind", "joint"},
                  {"inspectors", {"Wang Li", "Zhao Min"}},
                  {"items",
                   {{{"code", "guards_staffed"}, {"result", "pass"}},
                    {{"code", "anti_ram_barriers"}, {"result", "fail"}, {"note", "gate 2"}},
                    {{"code", "alarm_linked"}, {"result", "pass"}}}},
                  {"hazards", json::array()}};
        int n = 0;
        for (const UnixMicros d : deadlines) {
            b["hazards"].push_back({{"category", "physical"},
                                    {"description", "no barrier at gate " + std::to_string(++n)},
                                    {"deadline", iso(d)},
                                    {"responsible", "Principal Chen"}});
        }
        return b;
    }

    // Records an inspection through the API; returns it.
    json record(const std::string& school, UnixMicros at, std::vector<UnixMicros> deadlines) {
        auto r = post("/api/v1/inspections", inspector_,
                      inspection_body(school, at, std::move(deadlines)).dump());
        EXPECT_EQ(r.status, 201) << r.body;
        return r.json();
    }

    json get_json(const std::string& target, const std::string& token) {
        auto r = get(target, token);
        EXPECT_EQ(r.status, 200) << target << ": " << r.body;
        return r.json();
    }

    void expect_field(const HttpReply& r, const std::string& field, int status = 400) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.json()["field"], field) << r.body;
    }

    std::string inspector_, auditor_, dispatcher_, admin_, unit_, edu_d1_, edu_d2_, edu_none_,
        edu_empty_;
};

// The cells of one CSV line (RFC 4180 quoting; no line breaks inside cells here).
std::vector<std::string> csv_cells(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            out.back() += '"';
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

const json* item(const json& inspection, const std::string& code) {
    for (const auto& i : inspection["items"]) {
        if (i["code"] == code) return &i;
    }
    return nullptr;
}

TEST_F(Inspections, RecordsAnInspectionWithAutoItemsAndHazards) {
    const UnixMicros now = system_now();
    // S-1's post has existed for longer than the 30 days looked back on (it
    // counts from its registration, docs/reports.md).
    db_->column("UPDATE guard_posts SET created_at = $1 RETURNING 1",
                {format_iso_micros(now - 40 * kDay)});
    // T-1 of S-1 online and seen a minute ago; a drill from S-1 an hour ago.
    db_->column(
        "INSERT INTO terminal_status_events (terminal_id, at, online) VALUES ('T-1', $1, true) "
        "RETURNING 1",
        {format_iso_micros(now - 2 * kHour)});
    db_->column("UPDATE terminals SET last_seen_at = $1 WHERE id = 'T-1' RETURNING 1",
                {format_iso_micros(now - 60 * kMicrosPerSecond)});
    db_->column(
        "INSERT INTO incidents (id, school_id, district_id, kind, drill, state, received_at,"
        " last_alarm_at) VALUES ('I-drill', 'S-1', 'D-1', 'assault', true, 'resolved', $1, $1) "
        "RETURNING 1",
        {format_iso_micros(now - kHour)});

    const json in = record("S-1", now - 3 * kHour, {now + 7 * kDay, now + 14 * kDay});
    EXPECT_EQ(in["school"], "S-1");
    EXPECT_EQ(in["school_name"], "No.1 Primary");
    EXPECT_EQ(in["district"], "D-1");
    EXPECT_EQ(in["kind"], "joint");
    EXPECT_EQ(in["inspectors"], json({"Wang Li", "Zhao Min"}));
    EXPECT_EQ(in["recorded_by"], "wang-li");
    EXPECT_EQ(in["at"], iso(now - 3 * kHour));

    // The inspector's answers, and beside them the live values of the auto codes.
    ASSERT_TRUE(item(in, "anti_ram_barriers"));
    EXPECT_EQ((*item(in, "anti_ram_barriers"))["result"], "fail");
    EXPECT_EQ((*item(in, "anti_ram_barriers"))["note"], "gate 2");
    EXPECT_FALSE(item(in, "anti_ram_barriers")->contains("auto"));
    ASSERT_TRUE(item(in, "alarm_linked"));
    EXPECT_EQ((*item(in, "alarm_linked"))["result"], "pass");
    EXPECT_EQ((*item(in, "alarm_linked"))["auto"], "pass");
    ASSERT_TRUE(item(in, "alarm_tested"));
    EXPECT_TRUE((*item(in, "alarm_tested"))["result"].is_null());  // not answered
    EXPECT_EQ((*item(in, "alarm_tested"))["auto"], "pass");
    EXPECT_EQ((*item(in, "drill_held"))["auto"], "pass");
    // S-1's post was scheduled in the last 30 days, and P-1 never stood it.
    EXPECT_EQ((*item(in, "guard_post_peak"))["auto"], "fail");
    EXPECT_FALSE(item(in, "emergency_plan"));
    EXPECT_EQ(in["items"].size(), 3u + 3u);  // three answered, three more auto codes

    ASSERT_EQ(in["hazards"].size(), 2u);
    const json& h = in["hazards"][0];
    EXPECT_EQ(h["status"], "open");
    EXPECT_EQ(h["overdue"], false);
    EXPECT_EQ(h["category"], "physical");
    EXPECT_EQ(h["description"], "no barrier at gate 1");
    EXPECT_EQ(h["responsible"], "Principal Chen");
    EXPECT_EQ(h["deadline"], iso(now + 7 * kDay));
    EXPECT_EQ(h["inspection"], in["id"]);
    ASSERT_EQ(h["history"].size(), 1u);
    EXPECT_EQ(h["history"][0]["type"], "created");
    EXPECT_EQ(h["history"][0]["actor"], "wang-li");
    EXPECT_EQ(h["history"][0]["role"], "inspector");

    // What was stored is what the API returns.
    const std::string id = in["id"];
    EXPECT_EQ(db_->scalar("SELECT school_id FROM inspections WHERE id = $1", {id}), "S-1");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM inspection_items WHERE inspection_id = $1", {id}),
              "6");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM hazards WHERE inspection_id = $1", {id}), "2");
    EXPECT_EQ(get_json("/api/v1/inspections/" + id, auditor_), in);
    const json list = get_json("/api/v1/inspections?school=S-1", edu_d1_);
    ASSERT_EQ(list["items"].size(), 1u);
    EXPECT_EQ(list["items"][0], in);
    EXPECT_EQ(get_json("/api/v1/inspections?school=S-2", auditor_)["items"].size(), 0u);
    EXPECT_EQ(
        get_json("/api/v1/inspections?from=" + iso(now - 2 * kHour), auditor_)["items"].size(), 0u);
    EXPECT_EQ(get_json("/api/v1/inspections?to=" + iso(now - 2 * kHour), auditor_)["items"].size(),
              1u);
}

TEST_F(Inspections, BadInputIs400NamingTheField) {
    const UnixMicros now = system_now();
    const json good = inspection_body("S-1", now - kHour, {now + kDay});
    const auto bad = [&](const std::function<void(json&)>& change, const std::string& field) {
        json b = good;
        change(b);
        expect_field(post("/api/v1/inspections", inspector_, b.dump()), field);
    };
    bad([](json& b) { b["school"] = "S-404"; }, "school");
    bad([](json& b) { b["items"][0]["code"] = "moat_filled"; }, "items[0].code");
    bad([&](json& b) { b["hazards"][0]["deadline"] = iso(now - 2 * kHour); },
        "hazards[0].deadline");
    bad([](json& b) { b["kind"] = "visit"; }, "kind");
    bad([](json& b) { b["items"][2]["result"] = "good"; }, "items[2].result");
    bad([](json& b) { b["hazards"][0]["category"] = "weather"; }, "hazards[0].category");
    bad([](json& b) { b.erase("inspectors"); }, "inspectors");
    bad([&](json& b) { b["at"] = iso(now + kDay); }, "at");
    expect_field(post("/api/v1/inspections", inspector_, "{not json"), "body");
    expect_field(
        post("/api/v1/inspections", inspector_, std::string(100, '[') + std::string(100, ']')),
        "body");
    EXPECT_EQ(post("/api/v1/inspections", inspector_,
                   "{\"school\":\"" + std::string(300 * 1024, 'x') + "\"}")
                  .status,
              413);
    // Query parameters: 400 with the parameter named first in the message.
    const auto bad_query = [&](const std::string& target, const std::string& name) {
        const auto r = get(target, auditor_);
        EXPECT_EQ(r.status, 400) << target << ": " << r.body;
        EXPECT_EQ(r.json()["message"].get<std::string>().rfind(name + ":", 0), 0u) << r.body;
    };
    bad_query("/api/v1/hazards?status=closed", "status");
    bad_query("/api/v1/inspections?colour=red", "colour");
    bad_query("/api/v1/inspections?from=yesterday", "from");
    bad_query("/api/v1/reports/school-safety?as_of=" + iso(now + kDay), "as_of");
    bad_query("/api/v1/reports/school-safety.csv?as_of=noon", "as_of");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM inspections"), "0");

    const json in = record("S-1", now - kHour, {now + kDay});
    const std::string hazard = in["hazards"][0]["id"];
    const std::string base = "/api/v1/hazards/" + hazard;
    expect_field(post(base + "/rectify", edu_d1_, "{}"), "note");
    expect_field(post(base + "/rectify", edu_d1_, R"({"note":"done","accepted":true})"),
                 "accepted");
    expect_field(post(base + "/verify", inspector_, R"({"accepted":true})"), "status");  // open
    ASSERT_EQ(post(base + "/rectify", edu_d1_, R"({"note":"barrier installed"})").status, 200);
    expect_field(post(base + "/rectify", edu_d1_, R"({"note":"again"})"), "status");
    expect_field(post(base + "/verify", inspector_, R"({"note":"ok"})"), "accepted");
    expect_field(post(base + "/verify", inspector_, R"({"accepted":"yes"})"), "accepted");
    expect_field(post(base + "/verify", inspector_,
                      json{{"accepted", false}, {"deadline", iso(now - kHour)}}.dump()),
                 "deadline");
    expect_field(post(base + "/verify", inspector_, R"({"accepted":false,"deadline":"soon"})"),
                 "deadline");
    // Verification by anyone but an inspector: refused, naming the role.
    expect_field(post(base + "/verify", edu_d1_, R"({"accepted":true})"), "role", 403);
    EXPECT_EQ(post(base + "/verify", auditor_, R"({"accepted":true})").status, 403);
    ASSERT_EQ(post(base + "/verify", inspector_, R"({"accepted":true,"note":"seen"})").status, 200);
    // A closed hazard takes no rectification and no second verification.
    expect_field(post(base + "/rectify", edu_d1_, R"({"note":"more"})"), "status");
    expect_field(post(base + "/verify", inspector_, R"({"accepted":false})"), "status");
    EXPECT_EQ(post("/api/v1/hazards/H-999/rectify", edu_d1_, R"({"note":"x"})").status, 404);
    EXPECT_EQ(post(base + "/close", inspector_, "{}").status, 404);
}

TEST_F(Inspections, HazardLifeCycleWithAnAppendOnlyHistory) {
    const UnixMicros now = system_now();
    const json in = record("S-1", now - kHour, {now + kDay});
    const std::string id = in["hazards"][0]["id"];
    const std::string base = "/api/v1/hazards/" + id;

    auto r = post(base + "/rectify", edu_d1_, R"({"note":"barrier ordered"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["status"], "rectified");

    const UnixMicros new_deadline = now + 10 * kDay;
    r = post(base + "/verify", inspector_,
             json{{"accepted", false}, {"note", "only ordered"}, {"deadline", iso(new_deadline)}}
                 .dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["status"], "open");
    EXPECT_EQ(r.json()["deadline"], iso(new_deadline));
    EXPECT_TRUE(r.json()["closed_at"].is_null());

    r = post(base + "/rectify", inspector_, R"({"note":"barrier installed"})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["status"], "rectified");
    r = post(base + "/verify", inspector_, R"({"accepted":true,"note":"checked on site"})");
    ASSERT_EQ(r.status, 200) << r.body;
    const json closed = r.json();
    EXPECT_EQ(closed["status"], "verified");
    EXPECT_FALSE(closed["closed_at"].is_null());
    EXPECT_EQ(closed["deadline"], iso(new_deadline));

    const json& history = closed["history"];
    ASSERT_EQ(history.size(), 5u) << closed.dump(2);
    const std::vector<std::tuple<std::string, std::string, std::string>> expected = {
        {"created", "wang-li", "inspector"},
        {"rectified", "bureau-jianghan", "education"},
        {"verification_rejected", "wang-li", "inspector"},
        {"rectified", "wang-li", "inspector"},
        {"verification_accepted", "wang-li", "inspector"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(history[i]["type"], std::get<0>(expected[i])) << i;
        EXPECT_EQ(history[i]["actor"], std::get<1>(expected[i])) << i;
        EXPECT_EQ(history[i]["role"], std::get<2>(expected[i])) << i;
    }
    EXPECT_EQ(history[2]["note"], "only ordered");
    EXPECT_EQ(history[2]["deadline"], iso(new_deadline));
    EXPECT_EQ(get_json(base, edu_d1_), closed);
    EXPECT_EQ(get_json("/api/v1/hazards?status=verified", auditor_)["items"].size(), 1u);
    EXPECT_EQ(get_json("/api/v1/hazards?status=open", auditor_)["items"].size(), 0u);

    // The history and the inspection are evidence: never rewritten, never deleted.
    const auto refused = [&](const std::string& sql) {
        EXPECT_THROW(db_->column(sql), std::exception) << sql;
    };
    refused("UPDATE hazard_events SET note = 'nothing happened'");
    refused("DELETE FROM hazard_events");
    refused("UPDATE hazards SET status = 'open'");
    refused("DELETE FROM hazards");
    refused("UPDATE inspections SET kind = 'routine'");
    refused("DELETE FROM inspection_items");
    // And the life cycle holds in the database too: no verification of an open hazard.
    const json other = record("S-1", now - kHour, {now + kDay});
    refused("INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role) VALUES ('" +
            other["hazards"][0]["id"].get<std::string>() +
            "', now(), 'verification_accepted', 'x', 'inspector')");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM hazard_events WHERE hazard_id = $1", {id}), "5");
}

TEST_F(Inspections, OverdueWhileOpenPastTheDeadlineOldestFirst) {
    const UnixMicros now = system_now();
    // Inspected ten days ago; deadlines 3 and 1 days ago (overdue), and in a week.
    const json in = record("S-1", now - 10 * kDay, {now - kDay, now - 3 * kDay, now + 7 * kDay});
    const json other = record("S-2", now - 10 * kDay, {now - 2 * kDay});
    const std::string h1 = in["hazards"][0]["id"], h2 = in["hazards"][1]["id"];
    const std::string h3 = in["hazards"][2]["id"], h4 = other["hazards"][0]["id"];
    EXPECT_EQ(in["hazards"][0]["overdue"], true);
    EXPECT_EQ(in["hazards"][2]["overdue"], false);

    const auto overdue_ids = [&](const std::string& token, const std::string& extra = "") {
        std::vector<std::string> ids;
        const json body = get_json("/api/v1/hazards?status=overdue" + extra, token);
        for (const auto& h : body["items"]) {
            EXPECT_EQ(h["overdue"], true);
            EXPECT_EQ(h["status"], "open");
            ids.push_back(h["id"]);
        }
        return ids;
    };
    EXPECT_EQ(overdue_ids(auditor_), (std::vector<std::string>{h2, h4, h1}));
    EXPECT_EQ(overdue_ids(auditor_, "&school=S-1"), (std::vector<std::string>{h2, h1}));
    // Rectified: awaiting verification, not overdue however late.
    ASSERT_EQ(post("/api/v1/hazards/" + h2 + "/rectify", edu_d1_, R"({"note":"fixed"})").status,
              200);
    EXPECT_EQ(overdue_ids(auditor_), (std::vector<std::string>{h4, h1}));
    // Rejected without a new deadline: open again under the old, passed one.
    ASSERT_EQ(post("/api/v1/hazards/" + h2 + "/verify", inspector_, R"({"accepted":false})").status,
              200);
    EXPECT_EQ(overdue_ids(auditor_), (std::vector<std::string>{h2, h4, h1}));
    // The open list holds overdue and not overdue alike, by deadline.
    std::vector<std::string> open;
    const json open_body = get_json("/api/v1/hazards?status=open", auditor_);
    for (const auto& h : open_body["items"]) {
        open.push_back(h["id"]);
    }
    EXPECT_EQ(open, (std::vector<std::string>{h2, h4, h1, h3}));
    EXPECT_EQ(
        db_->scalar("SELECT count(*) FROM hazards WHERE status = 'open' AND deadline < now()"),
        "3");
}

TEST_F(Inspections, EveryEndpointAndRole) {
    const UnixMicros now = system_now();
    const json d1 = record("S-1", now - kHour, {now + kDay, now + 2 * kDay});
    const json d2 = record("S-3", now - kHour, {now + kDay});
    const std::string d1_hazard = d1["hazards"][0]["id"], d2_hazard = d2["hazards"][0]["id"];
    const std::string d1_id = d1["id"], d2_id = d2["id"];

    // Education: its districts only, on every endpoint; another district's
    // records are as unknown as missing ones.
    const auto ids = [&](const std::string& target, const std::string& token,
                         const std::string& list = "items", const std::string& key = "id") {
        std::set<std::string> out;
        const json body = get_json(target, token);
        for (const auto& i : body[list]) out.insert(i[key].get<std::string>());
        return out;
    };
    EXPECT_EQ(ids("/api/v1/inspections", edu_d1_), std::set<std::string>{d1_id});
    EXPECT_EQ(ids("/api/v1/inspections", edu_d2_), std::set<std::string>{d2_id});
    EXPECT_EQ(ids("/api/v1/inspections?district=D-1", edu_d2_), std::set<std::string>{});
    EXPECT_EQ(ids("/api/v1/inspections", auditor_), (std::set<std::string>{d1_id, d2_id}));
    EXPECT_EQ(ids("/api/v1/hazards", edu_d2_), std::set<std::string>{d2_hazard});
    EXPECT_EQ(ids("/api/v1/reports/school-safety", edu_d2_, "schools", "school"),
              std::set<std::string>{"S-3"});
    EXPECT_EQ(ids("/api/v1/reports/school-safety", edu_d1_, "schools", "school"),
              (std::set<std::string>{"S-1", "S-2"}));
    EXPECT_EQ(ids("/api/v1/reports/school-safety", auditor_, "schools", "school"),
              (std::set<std::string>{"S-1", "S-2", "S-3"}));
    EXPECT_EQ(get("/api/v1/inspections/" + d1_id, edu_d2_).status, 404);
    EXPECT_EQ(get("/api/v1/hazards/" + d1_hazard, edu_d2_).status, 404);
    EXPECT_EQ(post("/api/v1/hazards/" + d1_hazard + "/rectify", edu_d2_, R"({"note":"x"})").status,
              404);
    const auto csv = get("/api/v1/reports/school-safety.csv", edu_d2_);
    EXPECT_EQ(csv.body.find("S-1"), std::string::npos);
    EXPECT_NE(csv.body.find("S-3"), std::string::npos);
    // An education token without districts (NULL or an empty list) sees nothing at all.
    for (const std::string& none : {edu_none_, edu_empty_}) {
        EXPECT_EQ(ids("/api/v1/inspections", none), std::set<std::string>{});
        EXPECT_EQ(ids("/api/v1/inspections?district=D-1", none), std::set<std::string>{});
        EXPECT_EQ(ids("/api/v1/hazards", none), std::set<std::string>{});
        EXPECT_EQ(ids("/api/v1/hazards?status=open", none), std::set<std::string>{});
        EXPECT_EQ(ids("/api/v1/reports/school-safety", none, "schools", "school"),
                  std::set<std::string>{});
        const auto none_csv = get("/api/v1/reports/school-safety.csv", none);
        EXPECT_EQ(none_csv.status, 200);
        EXPECT_EQ(none_csv.body.find("S-"), std::string::npos) << none_csv.body;
        EXPECT_EQ(get("/api/v1/inspections/" + d1_id, none).status, 404);
        EXPECT_EQ(get("/api/v1/hazards/" + d1_hazard, none).status, 404);
        EXPECT_EQ(post("/api/v1/hazards/" + d2_hazard + "/rectify", none, R"({"note":"x"})").status,
                  404);
    }

    struct Call {
        std::string method, target, body;
    };
    const Call record_call{"POST", "/api/v1/inspections",
                           inspection_body("S-2", now - kHour, {}).dump()};
    const std::vector<Call> reads = {{"GET", "/api/v1/inspections", ""},
                                     {"GET", "/api/v1/inspections/" + d1_id, ""},
                                     {"GET", "/api/v1/hazards", ""},
                                     {"GET", "/api/v1/hazards/" + d1_hazard, ""}};
    const Call report{"GET", "/api/v1/reports/school-safety", ""};
    const Call report_csv{"GET", "/api/v1/reports/school-safety.csv", ""};
    const Call rectify{"POST", "/api/v1/hazards/" + d1_hazard + "/rectify", R"({"note":"fixed"})"};
    const Call verify{"POST", "/api/v1/hazards/" + d1_hazard + "/verify",
                      R"({"accepted":false,"note":"not yet"})"};
    const auto status = [&](const Call& c, const std::string& token) {
        return https_request(api_port(), certs_->server_ca(), c.method, c.target, token, c.body)
            .status;
    };
    // role -> expected status of: record, reads, report, rectify, verify
    struct Expect {
        std::string name;
        std::string token;
        int record, read, report, rectify, verify;
    };
    const std::vector<Expect> table = {
        {"inspector", inspector_, 201, 200, 200, 200, 200},
        {"auditor", auditor_, 403, 200, 200, 403, 403},
        {"dispatcher", dispatcher_, 403, 200, 403, 403, 403},
        {"education", edu_d1_, 403, 200, 200, 200, 403},
        {"admin", admin_, 403, 403, 403, 403, 403},
        {"unit", unit_, 403, 403, 403, 403, 403},
        {"no token", "", 401, 401, 401, 401, 401},
        {"bad token", "hx_not-a-token", 401, 401, 401, 401, 401},
    };
    const auto inspector_rejects = [&] {
        ASSERT_EQ(post(verify.target, inspector_, R"({"accepted":false})").status, 200);
    };
    for (const auto& e : table) {
        SCOPED_TRACE(e.name);
        EXPECT_EQ(status(record_call, e.token), e.record);
        for (const auto& c : reads) EXPECT_EQ(status(c, e.token), e.read) << c.target;
        EXPECT_EQ(status(report, e.token), e.report);
        EXPECT_EQ(status(report_csv, e.token), e.report);
        const int rectified = status(rectify, e.token);
        EXPECT_EQ(rectified, e.rectify);
        // Verify is tried on a rectified hazard, so that a refusal is the
        // role's and not the hazard's state.
        if (rectified != 200) {
            ASSERT_EQ(post(rectify.target, inspector_, rectify.body).status, 200);
        }
        const int verified = status(verify, e.token);
        EXPECT_EQ(verified, e.verify);
        if (verified != 200) inspector_rejects();  // back to open for the next role
        EXPECT_EQ(get_json("/api/v1/hazards/" + d1_hazard, inspector_)["status"], "open");
    }
    // The inspector role reads what an auditor reads (contract §10).
    EXPECT_EQ(get("/api/v1/incidents", inspector_).status, 200);
    EXPECT_EQ(get("/api/v1/terminals", inspector_).status, 200);
    EXPECT_EQ(
        get("/api/v1/reports/"
            "response-times?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&group_by=district",
            inspector_)
            .status,
        200);
    // The admin API creates inspector tokens.
    auto created = https_request(api_port(), certs_->server_ca(), "POST", "/api/v1/tokens", admin_,
                                 R"({"name":"li-inspector","role":"inspector"})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(get("/api/v1/hazards", created.json()["token"]).status, 200);
}

// Issue 15 item 3 in the school-safety report: a terminal counts from its
// registration, and one registered after as_of is not counted at all.
TEST_F(Inspections, SchoolSafetyAvailabilityCountsFromRegistration) {
    const UnixMicros as_of = *parse_iso8601("2026-10-20T04:00:00Z");
    const auto at = [&](UnixMicros offset) { return format_iso_micros(as_of + offset); };
    // T-1 registered two days before as_of and online for the last of them;
    // T-1B (also S-1) registered the day after as_of.
    db_->column("UPDATE terminals SET created_at = $1 WHERE id = 'T-1' RETURNING 1",
                {at(-2 * kDay)});
    db_->column("UPDATE terminals SET created_at = $1 WHERE id = 'T-1B' RETURNING 1", {at(kDay)});
    db_->column(
        "INSERT INTO terminal_status_events (terminal_id, at, online) VALUES ('T-1', $1, true)"
        " RETURNING 1",
        {at(-kDay)});
    const json r = get_json("/api/v1/reports/school-safety?school=S-1&as_of=" + at(0), inspector_);
    ASSERT_EQ(r["schools"].size(), 1u) << r.dump(2);
    // 50 %: one day online of the two T-1 existed (not 1 of 30 days, and
    // not averaged with T-1B, which did not exist yet).
    EXPECT_DOUBLE_EQ(r["schools"][0]["availability_pct"].get<double>(), 50.0) << r.dump(2);
}

// The report as of a fixed past time, against figures worked out here from
// the rows this test stores (and checked against the database directly).
TEST_F(Inspections, SchoolSafetyReportMatchesTheStoredFacts) {
    const UnixMicros as_of = *parse_iso8601("2026-10-20T04:00:00Z");  // Tue 12:00 in Wuhan
    const auto at = [&](UnixMicros offset) { return format_iso_micros(as_of + offset); };
    // The terminals and the post were registered long before the 30 days the
    // report looks back on (counting starts at registration, docs/reports.md).
    db_->column("UPDATE terminals SET created_at = '2026-01-01T00:00:00Z' RETURNING 1");
    db_->column("UPDATE guard_posts SET created_at = '2026-01-01T00:00:00Z' RETURNING 1");
    // T-1 online from 10 to 4 days before as_of and again from 20 h before;
    // T-1B (also S-1) never online; T-2 (S-2) never online; S-3 has no terminal.
    for (const auto& [offset, online] : std::vector<std::pair<UnixMicros, bool>>{
             {-10 * kDay, true}, {-4 * kDay, false}, {-20 * kHour, true}}) {
        db_->column(
            "INSERT INTO terminal_status_events (terminal_id, at, online) VALUES ('T-1', $1, $2)"
            " RETURNING 1",
            {at(offset), online ? "true" : "false"});
    }
    const double t1_pct = 100.0 * (6 * 86400 + 20 * 3600) / (30 * 86400);
    const double s1_availability = std::round(100 * (t1_pct + 0) / 2) / 100;
    // S-1: a real alarm 100 days before, a drill 5 days before reached in 240 s;
    // S-2: one alarm 95 days before.
    const auto incident = [&](const std::string& id, const std::string& school, bool drill,
                              UnixMicros offset, std::optional<int> arrival_s) {
        db_->column(
            "INSERT INTO incidents (id, school_id, district_id, kind, drill, state, received_at,"
            " last_alarm_at, first_arrival_at) VALUES ($1, $2, 'D-1', 'intrusion', $3::boolean,"
            " 'resolved', $4, $4, $4::timestamptz + make_interval(secs => $5::int)) RETURNING 1",
            {id, school, drill ? "true" : "false", at(offset),
             arrival_s ? std::optional<std::string>(std::to_string(*arrival_s)) : std::nullopt});
    };
    incident("I-1", "S-1", false, -100 * kDay, 300);
    incident("I-2", "S-1", true, -5 * kDay, 240);
    incident("I-3", "S-2", false, -95 * kDay, std::nullopt);
    // P-1 stood S-1's post in both windows on Monday 12 October only (Wuhan time).
    db_->column(
        "INSERT INTO unit_positions (unit_id, at, lat, lon) SELECT 'P-1', t, 30.5928, 114.3055"
        " FROM generate_series('2026-10-12 06:55+08'::timestamptz, '2026-10-12 08:35+08',"
        " interval '30 seconds') t"
        " UNION ALL SELECT 'P-1', t, 30.5928, 114.3055"
        " FROM generate_series('2026-10-12 16:25+08'::timestamptz, '2026-10-12 18:05+08',"
        " interval '30 seconds') t RETURNING 1");
    // Scheduled in [as_of - 30 d, as_of) = Sun 20 Sep 12:00 to Tue 20 Oct 12:00
    // local: the 21 weekdays from Mon 21 Sep to Mon 19 Oct (180 min each) and
    // Tuesday's morning window.
    const long long scheduled = 21 * 180 + 90, present = 180;

    // Inspections recorded at the times they took place (the stored function
    // takes the recording time, as the API passes its clock).
    const auto inspect = [&](const std::string& school, UnixMicros offset, const json& items,
                             const json& hazards) {
        const json p = {{"school", school},    {"at", at(offset)}, {"kind", "routine"},
                        {"inspectors", {"A"}}, {"items", items},   {"hazards", hazards}};
        return db_->scalar("SELECT huxiao_record_inspection($1::jsonb, 'wang-li', 'inspector', $2)",
                           {p.dump(), at(offset)});
    };
    // S-1: an older inspection failed the gate, a newer one passed it and
    // failed the barriers with two hazards: one overdue at as_of, one due later.
    inspect("S-1", -60 * kDay,
            json::array({{{"code", "gate_closed_management"}, {"result", "fail"}},
                         {{"code", "emergency_plan"}, {"result", "pass"}}}),
            json::array());
    const std::string s1_new =
        inspect("S-1", -20 * kDay,
                json::array({{{"code", "gate_closed_management"}, {"result", "pass"}},
                             {{"code", "anti_ram_barriers"}, {"result", "fail"}}}),
                json::array({{{"category", "physical"},
                              {"description", "no barrier"},
                              {"deadline", at(-2 * kDay)},
                              {"responsible", "school"}},
                             {{"category", "people"},
                              {"description", "guard untrained"},
                              {"deadline", at(5 * kDay)},
                              {"responsible", "school"}}}));
    // S-2: everything passes, one hazard rectified and verified before as_of,
    // one rectified (awaiting verification) with a passed deadline.
    inspect("S-2", -40 * kDay,
            json::array({{{"code", "guards_staffed"}, {"result", "pass"}},
                         {{"code", "anti_ram_barriers"}, {"result", "na"}}}),
            json::array({{{"category", "technical"},
                          {"description", "camera down"},
                          {"deadline", at(-30 * kDay)},
                          {"responsible", "school"}},
                         {{"category", "management"},
                          {"description", "no duty log"},
                          {"deadline", at(-10 * kDay)},
                          {"responsible", "school"}}}));
    const std::vector<std::string> s2_hazards =
        db_->column("SELECT id FROM hazards WHERE school_id = 'S-2' ORDER BY created_at, id");
    ASSERT_EQ(s2_hazards.size(), 2u);
    const auto event = [&](const std::string& hazard, UnixMicros offset, const std::string& type) {
        db_->column(
            "INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role)"
            " VALUES ($1, $2, $3, 'someone', 'inspector') RETURNING 1",
            {hazard, at(offset), type});
    };
    event(s2_hazards[0], -35 * kDay, "rectified");
    event(s2_hazards[0], -33 * kDay, "verification_accepted");
    event(s2_hazards[1], -15 * kDay, "rectified");
    // After as_of: must not count.
    event(s2_hazards[1], -1 * kHour + kDay, "verification_accepted");
    inspect("S-3", kHour, json::array({{{"code", "video_linked"}, {"result", "fail"}}}),
            json::array());

    const std::string q = "/api/v1/reports/school-safety?as_of=" + iso(as_of);
    const json r = get_json(q, inspector_);
    EXPECT_EQ(r["as_of"], iso(as_of));
    ASSERT_EQ(r["schools"].size(), 3u) << r.dump(2);
    const json& s1 = r["schools"][0];
    const json& s2 = r["schools"][1];
    const json& s3 = r["schools"][2];
    EXPECT_EQ(s1["school"], "S-1");
    EXPECT_EQ(s3["school"], "S-3");

    // S-1
    EXPECT_EQ(s1["checklist"]["gate_closed_management"]["result"], "pass");  // the newer one
    EXPECT_EQ(s1["checklist"]["gate_closed_management"]["inspection"], s1_new);
    EXPECT_EQ(s1["checklist"]["anti_ram_barriers"]["result"], "fail");
    EXPECT_EQ(s1["checklist"]["emergency_plan"]["result"], "pass");  // the older one still stands
    EXPECT_TRUE(s1["checklist"]["guards_staffed"]["result"].is_null());
    EXPECT_EQ(s1["checklist"]["alarm_linked"]["auto"], "pass");  // online, seen 20 h before
    EXPECT_EQ(s1["checklist"]["alarm_tested"]["auto"], "pass");  // the drill 5 days before
    EXPECT_EQ(s1["checklist"]["drill_held"]["auto"], "pass");    // in the autumn term
    EXPECT_EQ(s1["checklist"]["guard_post_peak"]["auto"], "fail");
    EXPECT_EQ(s1["hazards"]["open"], 2);
    EXPECT_EQ(s1["hazards"]["overdue"], 1);
    EXPECT_EQ(s1["hazards"]["oldest_overdue_deadline"], iso(as_of - 2 * kDay));
    EXPECT_DOUBLE_EQ(s1["availability_pct"].get<double>(), s1_availability);
    EXPECT_EQ(s1["last_drill"]["at"], iso(as_of - 5 * kDay));
    EXPECT_DOUBLE_EQ(s1["last_drill"]["arrival_s"].get<double>(), 240);
    EXPECT_EQ(s1["guard_post"]["scheduled_min"], scheduled);
    EXPECT_EQ(s1["guard_post"]["present_min"], present);
    EXPECT_DOUBLE_EQ(s1["guard_post"]["compliance_pct"].get<double>(),
                     std::round(10000.0 * present / scheduled) / 100);
    EXPECT_EQ(s1["last_inspection"]["id"], s1_new);
    EXPECT_EQ(s1["status"], "red");  // an overdue hazard

    // S-2: its terminal never came online; the verified hazard is closed, the
    // rectified one awaits verification (not overdue), the later acceptance ignored.
    EXPECT_EQ(s2["checklist"]["alarm_linked"]["auto"], "fail");
    EXPECT_EQ(s2["checklist"]["alarm_tested"]["auto"], "fail");  // 95 days before
    EXPECT_EQ(s2["checklist"]["guard_post_peak"]["auto"], "na");
    EXPECT_EQ(s2["checklist"]["drill_held"]["auto"], "fail");
    EXPECT_EQ(s2["checklist"]["anti_ram_barriers"]["result"], "na");
    EXPECT_EQ(s2["hazards"]["open"], 0);
    EXPECT_EQ(s2["hazards"]["rectified"], 1);
    EXPECT_EQ(s2["hazards"]["verified"], 1);
    EXPECT_EQ(s2["hazards"]["overdue"], 0);
    EXPECT_DOUBLE_EQ(s2["availability_pct"].get<double>(), 0);
    EXPECT_TRUE(s2["last_drill"].is_null());
    EXPECT_EQ(s2["status"], "red");  // the alarm is not linked

    // S-3: no terminal, inspected only after as_of.
    EXPECT_TRUE(s3["availability_pct"].is_null());
    EXPECT_TRUE(s3["last_inspection"].is_null());
    EXPECT_TRUE(s3["checklist"]["video_linked"]["result"].is_null());
    EXPECT_EQ(s3["terminals"]["enabled"], 0);

    // The same open/overdue counts straight from the tables, as of now.
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM hazards WHERE school_id = 'S-1' AND status = 'open'"
                          " AND deadline < $1",
                          {at(0)}),
              "1");
    EXPECT_EQ(
        db_->scalar("SELECT count(*) FROM hazards WHERE school_id = 'S-2' AND status = 'verified'"),
        "2");  // now: both verified

    // District filter and the CSV.
    EXPECT_EQ(get_json(q + "&district=D-2", auditor_)["schools"].size(), 1u);
    auto csv = get(q.substr(0, q.find('?')) + ".csv" + q.substr(q.find('?')), auditor_);
    ASSERT_EQ(csv.status, 200) << csv.body;
    EXPECT_EQ(csv.headers["Content-Type"], "text/csv; charset=utf-8");
    std::vector<std::string> lines;
    for (std::size_t start = 0; start < csv.body.size();) {
        const auto end = csv.body.find("\r\n", start);
        lines.push_back(csv.body.substr(start, end - start));
        start = end + 2;
    }
    ASSERT_EQ(lines.size(), 4u) << csv.body;
    EXPECT_EQ(
        lines[0].rfind("school,school_name,district,status,last_inspection_at,guards_staffed,", 0),
        0u);
    EXPECT_EQ(lines[1].rfind("S-1,No.1 Primary,D-1,red,", 0), 0u) << lines[1];
    // The S-1 row cell by cell against the figures worked out above.
    const auto header = csv_cells(lines[0]);
    const auto row = csv_cells(lines[1]);
    ASSERT_EQ(row.size(), header.size()) << lines[1];
    std::map<std::string, std::string> cell;
    for (std::size_t i = 0; i < header.size(); ++i) cell[header[i]] = row[i];
    EXPECT_EQ(cell["last_inspection_at"], iso(as_of - 20 * kDay));
    EXPECT_EQ(cell["gate_closed_management"], "pass");
    EXPECT_EQ(cell["anti_ram_barriers"], "fail");
    EXPECT_EQ(cell["emergency_plan"], "pass");
    EXPECT_EQ(cell["guards_staffed"], "");
    EXPECT_EQ(cell["auto_alarm_linked"], "pass");
    EXPECT_EQ(cell["auto_guard_post_peak"], "fail");
    EXPECT_EQ(cell["open_hazards"], "2");
    EXPECT_EQ(cell["overdue_hazards"], "1");
    EXPECT_DOUBLE_EQ(std::stod(cell["availability_pct"]), s1_availability);
    EXPECT_EQ(cell["last_drill_at"], iso(as_of - 5 * kDay));
    EXPECT_DOUBLE_EQ(std::stod(cell["last_drill_arrival_s"]), 240);
    EXPECT_EQ(cell["guard_post_scheduled_min"], std::to_string(scheduled));
    EXPECT_EQ(cell["guard_post_present_min"], std::to_string(present));
    EXPECT_DOUBLE_EQ(std::stod(cell["guard_post_pct"]),
                     std::round(10000.0 * present / scheduled) / 100);
    EXPECT_NE(cell["reasons"].find("overdue"), std::string::npos) << cell["reasons"];
    // A name that would be a formula is neutralised (and quoted for its quotes).
    EXPECT_EQ(lines[3].rfind("S-3,\"'=HYPERLINK(\"\"http://x\"\")\",D-2,", 0), 0u) << lines[3];
}

}  // namespace
}  // namespace huxiao::test
