// Guard-post compliance end to end (issue 5 item 3): positions of unit P-1
// recorded in unit_positions for a known share of its post's minutes at
// school S-1 (mon-fri 07:00-08:30 and 16:30-18:00, Asia/Shanghai), reported
// by /api/v1/reports/guard-posts and its CSV variant.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// School S-1 of kSmallRegistry, and a point about 1 km north of it.
constexpr double kSchoolLat = 30.5928, kSchoolLon = 114.3055;
constexpr double kAwayLat = 30.5928 + 1000 / 111194.93;

class GuardPostReport : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();  // supervision.position_sample_s 30: a sample holds for 60 s
        auditor_ = make_token("auditor", "inspector");
        // The post was registered before the weeks reported (counting starts
        // at registration, sql/009).
        db_->column("UPDATE guard_posts SET created_at = '2026-01-01T00:00:00Z' RETURNING id");
    }

    // A sample every 30 s from `from` to `to` inclusive (local times "+08").
    void track(const std::string& from, const std::string& to, double lat, double lon) {
        db_->column(
            "INSERT INTO unit_positions (unit_id, at, lat, lon) "
            "SELECT 'P-1', t, $3::float8, $4::float8 "
            "FROM generate_series($1::timestamptz, $2::timestamptz, interval '30 seconds') t "
            "RETURNING 1",
            {from, to, std::to_string(lat), std::to_string(lon)});
    }

    // The week of Monday 2 March 2026 (times are Shanghai local):
    //  Mon: at the gate 06:55-07:44:30, 1 km away 07:45-08:35 -> morning 45 of 90
    //       (07:00 ... 07:44); at the gate 16:25-18:05 -> afternoon 90 of 90.
    //  Tue: at the gate up to 07:00:00, nothing until 07:20, then at the gate
    //       to 08:35 -> morning 71 of 90 (07:01 ... 07:19 are more than 60 s
    //       after the last sample); no afternoon positions -> 0 of 90.
    //  Wed, Thu, Fri: no positions at all.
    //  Sat: at the gate all day, but the post is mon-fri.
    // Monday's morning window is 23:00-00:30 UTC, across the UTC day boundary.
    void record_week() {
        track("2026-03-02 06:55:00+08", "2026-03-02 07:44:30+08", kSchoolLat, kSchoolLon);
        track("2026-03-02 07:45:00+08", "2026-03-02 08:35:00+08", kAwayLat, kSchoolLon);
        track("2026-03-02 16:25:00+08", "2026-03-02 18:05:00+08", kSchoolLat, kSchoolLon);
        track("2026-03-03 06:55:00+08", "2026-03-03 07:00:00+08", kSchoolLat, kSchoolLon);
        track("2026-03-03 07:20:00+08", "2026-03-03 08:35:00+08", kSchoolLat, kSchoolLon);
        track("2026-03-07 06:00:00+08", "2026-03-07 19:00:00+08", kSchoolLat, kSchoolLon);
    }

    std::string auditor_;
};

struct Expected {
    std::string date;
    int present;
    std::vector<std::pair<std::string, int>> missed;  // window, present minutes
};

const std::vector<Expected> kWeek = {
    {"2026-03-02", 45 + 90, {}},
    {"2026-03-03", 71, {{"16:30-18:00", 0}}},
    {"2026-03-04", 0, {{"07:00-08:30", 0}, {"16:30-18:00", 0}}},
    {"2026-03-05", 0, {{"07:00-08:30", 0}, {"16:30-18:00", 0}}},
    {"2026-03-06", 0, {{"07:00-08:30", 0}, {"16:30-18:00", 0}}},
};

double pct(long long part, long long whole) { return std::round(10000.0 * part / whole) / 100.0; }

TEST_F(GuardPostReport, AWeekOfKnownPositions) {
    record_week();
    auto r = get("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-08&school=S-1", auditor_);
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = r.json();
    EXPECT_EQ(body["from"], "2026-03-02");
    EXPECT_EQ(body["to"], "2026-03-08");
    EXPECT_EQ(body["radius_m"], 200);
    EXPECT_EQ(body["hold_s"], 60);
    const json& items = body["items"];
    ASSERT_EQ(items.size(), kWeek.size()) << body.dump(2);
    long long present = 0, missed = 0;
    for (std::size_t i = 0; i < kWeek.size(); ++i) {
        const json& item = items[i];
        const Expected& e = kWeek[i];
        SCOPED_TRACE(e.date);
        EXPECT_EQ(item["school"], "S-1");
        EXPECT_EQ(item["school_name"], "No.1 Primary");
        EXPECT_EQ(item["unit"], "P-1");
        EXPECT_EQ(item["date"], e.date);
        EXPECT_EQ(item["scheduled_min"], 180);
        EXPECT_EQ(item["present_min"], e.present);
        EXPECT_DOUBLE_EQ(item["share_pct"].get<double>(), pct(e.present, 180));
        ASSERT_EQ(item["missed"].size(), e.missed.size()) << item.dump();
        for (std::size_t m = 0; m < e.missed.size(); ++m) {
            EXPECT_EQ(item["missed"][m]["window"], e.missed[m].first);
            EXPECT_EQ(item["missed"][m]["present_min"], e.missed[m].second);
            EXPECT_EQ(item["missed"][m]["scheduled_min"], 90);
        }
        present += e.present;
        missed += static_cast<long long>(e.missed.size());
    }
    const json& summary = body["summary"];
    EXPECT_EQ(summary["scheduled_min"], 5 * 180);
    EXPECT_EQ(summary["present_min"], present);
    EXPECT_EQ(present, 206);
    EXPECT_DOUBLE_EQ(summary["share_pct"].get<double>(), pct(206, 900));  // 22.89
    EXPECT_EQ(summary["missed_windows"], missed);
    EXPECT_EQ(missed, 7);
}

TEST_F(GuardPostReport, RadiusDayAndTimeRangesAndFilters) {
    record_week();
    // 2 km: Monday's 1 km away minutes count too.
    auto wide =
        get("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-02&radius_m=2000", auditor_);
    ASSERT_EQ(wide.status, 200) << wide.body;
    ASSERT_EQ(wide.json()["items"].size(), 1u);
    EXPECT_EQ(wide.json()["items"][0]["present_min"], 180);
    EXPECT_EQ(wide.json()["radius_m"], 2000);

    // Tuesday alone: its morning samples are on Monday in UTC.
    auto tue = get("/api/v1/reports/guard-posts?from=2026-03-03&to=2026-03-03&unit=P-1", auditor_);
    ASSERT_EQ(tue.status, 200) << tue.body;
    ASSERT_EQ(tue.json()["items"].size(), 1u);
    EXPECT_EQ(tue.json()["items"][0]["date"], "2026-03-03");
    EXPECT_EQ(tue.json()["items"][0]["present_min"], 71);

    // A time range, 07:20-07:50 Monday local: 30 scheduled minutes, 25 present.
    auto part = get("/api/v1/reports/guard-posts?from=2026-03-01T23:20:00Z&to=2026-03-01T23:50:00Z",
                    auditor_);
    ASSERT_EQ(part.status, 200) << part.body;
    const json p = part.json();
    EXPECT_EQ(p["from"], "2026-03-01T23:20:00.000Z");
    ASSERT_EQ(p["items"].size(), 1u);
    EXPECT_EQ(p["items"][0]["date"], "2026-03-02");
    EXPECT_EQ(p["items"][0]["scheduled_min"], 30);
    EXPECT_EQ(p["items"][0]["present_min"], 25);
    EXPECT_TRUE(p["items"][0]["missed"].empty());

    // The weekend alone: nothing scheduled.
    auto weekend = get("/api/v1/reports/guard-posts?from=2026-03-07&to=2026-03-08", auditor_);
    ASSERT_EQ(weekend.status, 200) << weekend.body;
    EXPECT_TRUE(weekend.json()["items"].empty());
    EXPECT_EQ(weekend.json()["summary"]["scheduled_min"], 0);
    EXPECT_TRUE(weekend.json()["summary"]["share_pct"].is_null());

    // Minutes not yet over are not counted: a future range is empty.
    auto future = get("/api/v1/reports/guard-posts?from=2099-03-02&to=2099-03-06", auditor_);
    ASSERT_EQ(future.status, 200) << future.body;
    EXPECT_TRUE(future.json()["items"].empty());

    // Filters that match no post.
    for (const char* q : {"school=S-2", "unit=P-9", "district=D-9"}) {
        auto none =
            get(std::string("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-08&") + q,
                auditor_);
        ASSERT_EQ(none.status, 200) << q << ": " << none.body;
        EXPECT_TRUE(none.json()["items"].empty()) << q;
    }
    auto district =
        get("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-08&district=D-1", auditor_);
    EXPECT_EQ(district.json()["items"].size(), 5u);
}

// Issue 15 item 3: days before a post existed are not missed windows.
TEST_F(GuardPostReport, CountsFromThePostsRegistration) {
    record_week();
    // Registered on Wednesday at noon, Shanghai time: Monday's and Tuesday's
    // windows and Wednesday morning's are not counted (nor missed).
    db_->column(
        "UPDATE guard_posts SET created_at = '2026-03-04 12:00:00+08' WHERE school_id = 'S-1' "
        "RETURNING id");
    auto r = get("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-08&school=S-1", auditor_);
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = r.json();
    ASSERT_EQ(body["items"].size(), 3u) << r.body;
    EXPECT_EQ(body["items"][0]["date"], "2026-03-04");
    EXPECT_EQ(body["items"][0]["scheduled_min"], 90);  // the afternoon only
    ASSERT_EQ(body["items"][0]["missed"].size(), 1u);
    EXPECT_EQ(body["items"][0]["missed"][0]["window"], "16:30-18:00");
    EXPECT_EQ(body["items"][1]["date"], "2026-03-05");
    EXPECT_EQ(body["items"][2]["date"], "2026-03-06");
    EXPECT_EQ(body["summary"]["scheduled_min"], 90 + 180 + 180);
    EXPECT_EQ(body["summary"]["missed_windows"], 5);
    ASSERT_EQ(body["posts"].size(), 1u);
    EXPECT_EQ(body["posts"][0]["registered_at"], "2026-03-04T04:00:00.000Z");
    EXPECT_EQ(body["posts"][0]["counted_from"], "2026-03-04T04:00:00.000Z");

    // A range wholly before the registration: nothing scheduled, nothing missed.
    auto before = get("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-03", auditor_);
    ASSERT_EQ(before.status, 200) << before.body;
    EXPECT_EQ(before.json()["items"].size(), 0u) << before.body;
    EXPECT_TRUE(before.json()["summary"]["share_pct"].is_null());
    EXPECT_TRUE(before.json()["posts"][0]["counted_from"].is_null());
}

TEST_F(GuardPostReport, APostInAZoneWithDaylightSavingIsEvaluatedAndAnUnknownZoneSkipped) {
    // Europe/Berlin comes from the tz database (CET, UTC+1, on 2 March); a
    // zone the database does not know cannot be evaluated and says so. The
    // import would refuse it; it is written here directly.
    db_->column(
        "INSERT INTO guard_posts (school_id, unit_id, days, windows, tz, created_at) "
        "VALUES ('S-2', 'P-1', 'mon-fri', '{07:00-08:00}', 'Europe/Berlin', "
        "'2026-01-01T00:00:00Z') RETURNING id");
    db_->column("UPDATE guard_posts SET tz = 'Mars/Olympus' WHERE school_id = 'S-1' RETURNING id");
    auto r = get("/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-02", auditor_);
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = r.json();
    ASSERT_EQ(body["items"].size(), 1u) << body.dump();
    EXPECT_EQ(body["items"][0]["school"], "S-2");
    EXPECT_EQ(body["items"][0]["scheduled_min"], 60);
    ASSERT_EQ(body["skipped"].size(), 1u);
    EXPECT_EQ(body["skipped"][0]["school"], "S-1");
    EXPECT_NE(body["skipped"][0]["reason"].get<std::string>().find("Mars/Olympus"),
              std::string::npos);
}

// Report days across both changes of 2025 in Europe/Berlin (30 March and
// 26 October, in the past whatever the test machine's clock says): a date is
// local midnight to local midnight, and a window over the change schedules
// the local minutes that exist, once each.
TEST_F(GuardPostReport, ReportDaysAndWindowsFollowDaylightSaving) {
    db_->column(
        "INSERT INTO guard_posts (school_id, unit_id, days, windows, tz, created_at) "
        "VALUES ('S-2', 'P-1', 'daily', '{01:30-03:30}', 'Europe/Berlin', "
        "'2025-01-01T00:00:00Z') RETURNING id");
    const auto day = [&](const std::string& date) {
        auto r =
            get("/api/v1/reports/guard-posts?school=S-2&from=" + date + "&to=" + date, auditor_);
        EXPECT_EQ(r.status, 200) << r.body;
        json body = r.json();
        if (!body["items"].is_array() || body["items"].size() != 1) {
            ADD_FAILURE() << date << ": " << r.body;
            return -1;
        }
        EXPECT_EQ(body["items"][0]["date"], date) << r.body;
        return body["items"][0]["scheduled_min"].get<int>();
    };
    EXPECT_EQ(day("2025-03-29"), 120);
    EXPECT_EQ(day("2025-03-30"), 60);   // 02:00-02:59 do not exist
    EXPECT_EQ(day("2025-10-26"), 120);  // 02:00-02:59 happen twice, counted once
    EXPECT_EQ(day("2025-10-27"), 120);

    // The same instants given as times: 00:30Z-01:30Z on 30 March is the
    // window's one real hour (01:30 CET to 03:30 CEST).
    auto r = get(
        "/api/v1/reports/guard-posts?school=S-2&from=2025-03-30T00:30:00Z&to=2025-03-30T01:30:00Z",
        auditor_);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json()["items"].size(), 1u) << r.body;
    EXPECT_EQ(r.json()["items"][0]["scheduled_min"], 60);
}

// RFC 4180 fields of one line (quoted fields may hold commas and quotes).
std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                out.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                out.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

TEST_F(GuardPostReport, CsvParsesBackToTheSameFigures) {
    record_week();
    const std::string q = "?from=2026-03-02&to=2026-03-08";
    auto j = get("/api/v1/reports/guard-posts" + q, auditor_);
    auto c = get("/api/v1/reports/guard-posts.csv" + q, auditor_);
    ASSERT_EQ(j.status, 200) << j.body;
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(c.headers["Content-Type"], "text/csv; charset=utf-8");
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < c.body.size();) {
        const auto end = c.body.find("\r\n", at);
        ASSERT_NE(end, std::string::npos) << "every line ends in CRLF";
        lines.push_back(c.body.substr(at, end - at));
        at = end + 2;
    }
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0],
              "school,school_name,district,unit,date,scheduled_min,present_min,share_pct,missed_"
              "windows,missed");
    const json items = j.json()["items"];
    ASSERT_EQ(lines.size(), items.size() + 1);
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto f = csv_fields(lines[i + 1]);
        ASSERT_EQ(f.size(), 10u) << lines[i + 1];
        const json& item = items[i];
        EXPECT_EQ(f[0], item["school"]);
        EXPECT_EQ(f[1], item["school_name"]);
        EXPECT_EQ(f[2], item["district"]);
        EXPECT_EQ(f[3], item["unit"]);
        EXPECT_EQ(f[4], item["date"]);
        EXPECT_EQ(std::stoi(f[5]), item["scheduled_min"].get<int>());
        EXPECT_EQ(std::stoi(f[6]), item["present_min"].get<int>());
        EXPECT_DOUBLE_EQ(std::stod(f[7]), item["share_pct"].get<double>());
        EXPECT_EQ(std::stoul(f[8]), item["missed"].size());
        std::string missed;
        for (const auto& m : item["missed"]) {
            if (!missed.empty()) missed += ';';
            missed += m["window"].get<std::string>() + "=" +
                      std::to_string(m["present_min"].get<int>()) + "/" +
                      std::to_string(m["scheduled_min"].get<int>());
        }
        EXPECT_EQ(f[9], missed);
    }
    // Tuesday's row, written out.
    EXPECT_EQ(lines[2], "S-1,No.1 Primary,D-1,P-1,2026-03-03,180,71,39.44,1,16:30-18:00=0/90");
}

TEST_F(GuardPostReport, BadParametersAre400NamingThem) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"to=2026-03-08", "from"},
        {"from=2026-03-02", "to"},
        {"from=yesterday&to=2026-03-08", "from"},
        {"from=2026-02-30&to=2026-03-08", "from"},
        {"from=2026-03-02&to=2026-13-01", "to"},
        {"from=2026-03-08&to=2026-03-02", "to"},
        {"from=2026-03-02T08:00:00Z&to=2026-03-02T08:00:00Z", "to"},
        {"from=2026-01-01&to=2026-04-04", "to"},  // 94 days: 93 is the most
        {"from=2026-01-01T00:00:00Z&to=2026-04-04T00:00:01Z", "to"},
        {"from=2026-03-02&to=2026-03-08&radius_m=abc", "radius_m"},
        {"from=2026-03-02&to=2026-03-08&radius_m=0", "radius_m"},
        {"from=2026-03-02&to=2026-03-08&missed_below_pct=101", "missed_below_pct"},
        {"from=2026-03-02&to=2026-03-08&group_by=school", "group_by"},
    };
    for (const auto& [query, name] : cases) {
        for (const char* path :
             {"/api/v1/reports/guard-posts?", "/api/v1/reports/guard-posts.csv?"}) {
            auto r = get(path + query, auditor_);
            EXPECT_EQ(r.status, 400) << query << ": " << r.body;
            EXPECT_EQ(r.json()["message"].get<std::string>().rfind(name + ":", 0), 0u)
                << query << ": " << r.body;
        }
    }
    // 93 days exactly is fine: 1 January to 3 April inclusive, or as times.
    EXPECT_EQ(get("/api/v1/reports/guard-posts?from=2026-01-01&to=2026-04-03", auditor_).status,
              200);
    EXPECT_EQ(get("/api/v1/reports/guard-posts?from=2026-01-01T00:00:00Z&to=2026-04-04T00:00:00Z",
                  auditor_)
                  .status,
              200);
}

TEST_F(GuardPostReport, RolesAuditorDispatcherEducationAdmin) {
    const std::string q = "/api/v1/reports/guard-posts?from=2026-03-02&to=2026-03-02";
    for (const char* role : {"dispatcher", "education", "admin"}) {
        const auto token = make_token(role, std::string("t-") + role, "",
                                      role == std::string("education") ? "D-1" : "");
        EXPECT_EQ(get(q, token).status, 200) << role;
    }
    EXPECT_EQ(get(q, make_token("unit", "p1", "P-1")).status, 403);
    EXPECT_EQ(get(q, "").status, 401);
}

}  // namespace
}  // namespace huxiao::test
