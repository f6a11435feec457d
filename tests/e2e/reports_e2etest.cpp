// Response-time reports (contract §5, §6) against a real server: incidents
// with known times are written straight into the database, and every figure
// of the report is checked against one computed here, independently (the
// percentile interpolation is done in C++, not asked of PostgreSQL). Covers
// incidents never reached or never accepted, drills, a district SLA override
// next to the configured default, a day in Asia/Shanghai whose edges are not
// UTC midnight, an incident recorded in another district than its school's,
// the CSV reading back to the same figures, district limits of education
// tokens, and 400/401/403.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "common/util/time.hpp"
#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

constexpr UnixMicros kSecond = 1'000'000;
constexpr UnixMicros kMinute = 60 * kSecond;

// The day 2026-03-10 in Asia/Shanghai: 2026-03-09T16:00Z to 2026-03-10T16:00Z.
const UnixMicros kFrom = *parse_iso8601("2026-03-10T00:00:00+08:00");
const UnixMicros kTo = *parse_iso8601("2026-03-11T00:00:00+08:00");
const std::string kRange = "from=2026-03-10T00:00:00%2B08:00&to=2026-03-11T00:00:00%2B08:00";

// Configured defaults (not the contract's 60/300, to see that they are used)
// and D-1's override; D-2 has none.
constexpr int kDefaultAck = 45;
constexpr int kDefaultArrival = 280;
constexpr int kD1Ack = 30;
constexpr int kD1Arrival = 240;

struct Incident {
    std::string id;
    std::string school;
    std::string district;  // as recorded
    std::string kind;
    bool drill = false;
    UnixMicros received = 0;
    std::optional<UnixMicros> offer, accept, arrival;  // offsets from received
    std::optional<std::string> unit;                   // first arriving unit
};

const std::map<std::string, std::string> kSchoolDistrict = {
    {"S-1", "D-1"}, {"S-2", "D-1"}, {"S-3", "D-2"}};
const std::map<std::string, std::string> kDistrictUnit = {{"D-1", "P-1"}, {"D-2", "P-2"}};

// A deterministic mix: about one in nine never offered, one in six of the
// offered never accepted, one in five of the accepted never reached; drills;
// acceptance times on both sides of both ack limits; plus the edge cases.
std::vector<Incident> make_incidents() {
    std::vector<Incident> out;
    std::uint64_t state = 20260310;
    const auto next = [&state](std::uint64_t bound) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (state >> 33) % bound;
    };
    const char* kinds[] = {"fire", "intrusion", "medical", "assault"};
    const char* schools[] = {"S-1", "S-2", "S-3"};
    for (int k = 0; k < 48; ++k) {
        Incident i;
        i.id = "I-T" + std::to_string(k);
        i.school = schools[k % 3];
        i.district = kSchoolDistrict.at(i.school);
        i.kind = kinds[(k / 3) % 4];
        i.drill = k % 7 == 3;
        i.received = kFrom + k * 29 * kMinute + static_cast<UnixMicros>(next(60 * kSecond));
        if (next(9) != 0) {
            i.offer = 200'000 + static_cast<UnixMicros>(next(3 * kSecond));
            if (next(6) != 0) {
                i.accept = *i.offer + 5 * kSecond + static_cast<UnixMicros>(next(65 * kSecond));
                if (next(5) != 0) {
                    i.arrival =
                        *i.accept + 100 * kSecond + static_cast<UnixMicros>(next(400 * kSecond));
                    i.unit = kDistrictUnit.at(i.district);
                }
            }
        }
        out.push_back(i);
    }
    // Exactly at the limits: within the SLA (the limit is inclusive).
    out[0].school = "S-1", out[0].district = "D-1", out[0].drill = false;
    out[0].offer = kSecond, out[0].accept = kD1Ack * kSecond, out[0].arrival = kD1Arrival * kSecond;
    out[0].unit = "P-1";
    out[2].school = "S-3", out[2].district = "D-2", out[2].drill = false;
    out[2].offer = kSecond, out[2].accept = kDefaultAck * kSecond,
    out[2].arrival = kDefaultArrival * kSecond;
    out[2].unit = "P-2";
    // One microsecond over the limit.
    out[3].school = "S-1", out[3].district = "D-1", out[3].drill = false;
    out[3].offer = kSecond, out[3].accept = kD1Ack * kSecond + 1,
    out[3].arrival = kD1Arrival * kSecond + 1;
    out[3].unit = "P-1";
    // An incident of S-3 (now in D-2) recorded in D-1: D-1's SLA applies.
    out[5].school = "S-3", out[5].district = "D-1", out[5].drill = false;
    out[5].offer = kSecond, out[5].accept = 40 * kSecond, out[5].arrival = 260 * kSecond;
    out[5].unit = "P-1";
    // The edges of the range (from inclusive, to exclusive), in both units'
    // districts; the ones outside must not count.
    const auto edge = [&](const std::string& id, UnixMicros at, const std::string& school) {
        Incident i;
        i.id = id;
        i.school = school;
        i.district = kSchoolDistrict.at(school);
        i.kind = "other";
        i.received = at;
        i.offer = 2 * kSecond, i.accept = 20 * kSecond, i.arrival = 200 * kSecond;
        i.unit = kDistrictUnit.at(i.district);
        out.push_back(i);
    };
    edge("I-E1", kFrom - 1, "S-1");                 // 23:59:59.999999 local the day before
    edge("I-E2", kFrom, "S-1");                     // 00:00 local, 16:00Z the day before
    edge("I-E3", kTo - 1, "S-3");                   // 23:59:59.999999 local
    edge("I-E4", kTo, "S-3");                       // the next day
    edge("I-E5", kFrom + 3 * 60 * kMinute, "S-2");  // 03:00 local, still the 9th in UTC
    edge("I-E6", kTo + 5 * 60 * kMinute, "S-2");    // 05:00 local the next day, the 10th in UTC
    return out;
}

// --- the figures, computed here ------------------------------------------------

// Linear interpolation between the closest ranks, as percentile_cont.
std::optional<double> percentile(std::vector<double> v, double p) {
    if (v.empty()) return std::nullopt;
    std::sort(v.begin(), v.end());
    const double h = p * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(h));
    const auto hi = static_cast<std::size_t>(std::ceil(h));
    return v[lo] + (v[hi] - v[lo]) * (h - static_cast<double>(lo));
}

struct Stats {
    std::optional<double> p50, p90, p95, p99, max;
};

Stats stats(const std::vector<double>& v) {
    Stats s{percentile(v, 0.5), percentile(v, 0.9), percentile(v, 0.95), percentile(v, 0.99),
            std::nullopt};
    if (!v.empty()) s.max = *std::max_element(v.begin(), v.end());
    return s;
}

struct Group {
    std::optional<std::string> key;
    long long count = 0;
    long long unreached = 0;
    Stats dispatch, ack, arrival;
    double sla_ack_pct = 0;
    double sla_arrival_pct = 0;
};

double seconds(UnixMicros us) { return static_cast<double>(us) / 1e6; }

// District -> (ack limit, arrival limit) where it has overrides.
using Limits = std::map<std::string, std::pair<int, int>>;
const Limits kLimits = {{"D-1", {kD1Ack, kD1Arrival}}};

std::vector<Group> expected(const std::vector<Incident>& all, bool drill,
                            const std::function<std::optional<std::string>(const Incident&)>& key,
                            const std::function<bool(const Incident&)>& keep = {},
                            const Limits& limits = kLimits) {
    std::map<std::optional<std::string>, std::vector<const Incident*>> groups;
    for (const auto& i : all) {
        if (i.received < kFrom || i.received >= kTo || i.drill != drill) continue;
        if (keep && !keep(i)) continue;
        groups[key(i)].push_back(&i);
    }
    std::vector<Group> out;
    for (const auto& [k, members] : groups) {
        Group g;
        g.key = k;
        std::vector<double> d, a, r;
        long long ack_ok = 0, arrival_ok = 0;
        for (const Incident* i : members) {
            ++g.count;
            const auto limit = limits.find(i->district);
            const int ack_limit = limit != limits.end() ? limit->second.first : kDefaultAck;
            const int arrival_limit =
                limit != limits.end() ? limit->second.second : kDefaultArrival;
            if (i->offer) d.push_back(seconds(*i->offer));
            if (i->accept) {
                a.push_back(seconds(*i->accept));
                if (*i->accept <= ack_limit * kSecond) ++ack_ok;
            }
            if (i->arrival) {
                r.push_back(seconds(*i->arrival));
                if (*i->arrival <= arrival_limit * kSecond) ++arrival_ok;
            } else {
                ++g.unreached;
            }
        }
        g.dispatch = stats(d);
        g.ack = stats(a);
        g.arrival = stats(r);
        g.sla_ack_pct = 100.0 * static_cast<double>(ack_ok) / static_cast<double>(g.count);
        g.sla_arrival_pct = 100.0 * static_cast<double>(arrival_ok) / static_cast<double>(g.count);
        out.push_back(g);
    }
    // By key, the null key (unassigned) last, as the API orders them.
    std::stable_partition(out.begin(), out.end(), [](const Group& g) { return g.key.has_value(); });
    return out;
}

// --- comparing ----------------------------------------------------------------

void expect_number(const json& got, const std::optional<double>& want, const std::string& what) {
    if (!want) {
        EXPECT_TRUE(got.is_null()) << what << " = " << got.dump();
        return;
    }
    ASSERT_TRUE(got.is_number()) << what << " = " << got.dump();
    EXPECT_NEAR(got.get<double>(), *want, 1e-6) << what;
}

void expect_stats(const json& got, const Stats& want, const std::string& what) {
    expect_number(got["p50"], want.p50, what + ".p50");
    expect_number(got["p90"], want.p90, what + ".p90");
    expect_number(got["p95"], want.p95, what + ".p95");
    expect_number(got["p99"], want.p99, what + ".p99");
    expect_number(got["max"], want.max, what + ".max");
}

void expect_groups(const json& report, const std::vector<Group>& want) {
    ASSERT_TRUE(report["groups"].is_array()) << report.dump();
    ASSERT_EQ(report["groups"].size(), want.size()) << report.dump(1);
    for (std::size_t n = 0; n < want.size(); ++n) {
        const json& g = report["groups"][n];
        const Group& w = want[n];
        const std::string what = "group " + (w.key ? *w.key : std::string("null"));
        if (w.key) {
            EXPECT_EQ(g["key"], *w.key) << what;
        } else {
            EXPECT_TRUE(g["key"].is_null()) << what;
        }
        EXPECT_EQ(g["count"], w.count) << what;
        EXPECT_EQ(g["unreached"], w.unreached) << what;
        expect_stats(g["dispatch_s"], w.dispatch, what + " dispatch_s");
        expect_stats(g["ack_s"], w.ack, what + " ack_s");
        expect_stats(g["arrival_s"], w.arrival, what + " arrival_s");
        expect_number(g["sla_ack_pct"], w.sla_ack_pct, what + " sla_ack_pct");
        expect_number(g["sla_arrival_pct"], w.sla_arrival_pct, what + " sla_arrival_pct");
    }
}

// RFC 4180 (quoted fields with doubled quotes, CRLF or LF line ends).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
            any = true;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
        } else if (c == '\r') {
            continue;
        } else if (c == '\n') {
            row.push_back(field);
            rows.push_back(row);
            row.clear();
            field.clear();
            any = false;
        } else {
            field += c;
            any = true;
        }
    }
    if (any || !field.empty() || !row.empty()) {
        row.push_back(field);
        rows.push_back(row);
    }
    return rows;
}

class Reports : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        // A second district without SLA overrides, with a school whose name
        // needs quoting in CSV and a unit; D-1 gets its own limits.
        db_->column(
            "UPDATE districts SET sla_ack_s = $1::int, sla_arrival_s = $2::int WHERE id = 'D-1'",
            {std::to_string(kD1Ack), std::to_string(kD1Arrival)});
        db_->column("INSERT INTO districts (id, name) VALUES ('D-2', 'Hanyang')");
        db_->column(
            "INSERT INTO schools (id, name, district_id, lat, lon)"
            " VALUES ('S-3', 'No.3 \"Star\" High, East', 'D-2', 30.55, 114.22)");
        db_->column(
            "INSERT INTO units (id, callsign, district_id, home_lat, home_lon)"
            " VALUES ('P-2', 'Patrol 2', 'D-2', 30.55, 114.21)");
        incidents_ = make_incidents();
        for (const auto& i : incidents_) {
            const auto at =
                [&](const std::optional<UnixMicros>& offset) -> std::optional<std::string> {
                if (!offset) return std::nullopt;
                return format_iso_micros(i.received + *offset);
            };
            db_->column(
                "INSERT INTO incidents (id, school_id, district_id, kind, drill, state, "
                "received_at,"
                " last_alarm_at, first_offer_at, first_accept_at, first_arrival_at, first_unit_id, "
                "closed_at)"
                " VALUES ($1, $2, $3, $4, $5::boolean, 'resolved', $6::timestamptz, "
                "$6::timestamptz,"
                " $7::timestamptz, $8::timestamptz, $9::timestamptz, $10, $6::timestamptz + "
                "interval '1 hour')",
                {i.id, i.school, i.district, i.kind, i.drill ? "true" : "false",
                 format_iso_micros(i.received), at(i.offer), at(i.accept), at(i.arrival), i.unit});
        }
        config()["sla"] = {{"ack_s", kDefaultAck}, {"arrival_s", kDefaultArrival}};
        start_server();
        auditor_ = make_token("auditor", "inspector-1");
    }

    json report(const std::string& query, const std::string& token = "") {
        auto r = get("/api/v1/reports/response-times?" + query, token.empty() ? auditor_ : token);
        EXPECT_EQ(r.status, 200) << query << ": " << r.body;
        EXPECT_EQ(r.headers["Content-Type"], "application/json");
        return r.json();
    }

    std::vector<Incident> incidents_;
    std::string auditor_;
};

const auto by_district = [](const Incident& i) { return std::optional<std::string>(i.district); };
const auto by_school = [](const Incident& i) { return std::optional<std::string>(i.school); };
const auto by_unit = [](const Incident& i) { return i.unit; };
const auto by_kind = [](const Incident& i) { return std::optional<std::string>(i.kind); };

TEST_F(Reports, ByDistrictMatchesFiguresComputedFromTheIncidentTimes) {
    const json r = report(kRange + "&group_by=district");
    EXPECT_EQ(r["from"], "2026-03-09T16:00:00.000Z");
    EXPECT_EQ(r["to"], "2026-03-10T16:00:00.000Z");
    EXPECT_EQ(r["group_by"], "district");
    EXPECT_EQ(r["drill"], false);
    const auto want = expected(incidents_, false, by_district);
    ASSERT_EQ(want.size(), 2u);
    expect_groups(r, want);
    ASSERT_EQ(r["groups"].size(), 2u);
    EXPECT_EQ(r["groups"][0]["name"], "Jianghan");
    EXPECT_EQ(r["groups"][0]["sla_ack_s"], kD1Ack);
    EXPECT_EQ(r["groups"][0]["sla_arrival_s"], kD1Arrival);
    EXPECT_EQ(r["groups"][1]["name"], "Hanyang");
    EXPECT_EQ(r["groups"][1]["sla_ack_s"], kDefaultAck);
    EXPECT_EQ(r["groups"][1]["sla_arrival_s"], kDefaultArrival);
    // Unreached incidents are counted and shown, not dropped.
    EXPECT_GT(r["groups"][0]["unreached"].get<int>() + r["groups"][1]["unreached"].get<int>(), 0);
}

TEST_F(Reports, BySchoolUsesTheSlaOfTheDistrictTheIncidentWasRecordedIn) {
    const json r = report(kRange + "&group_by=school");
    expect_groups(r, expected(incidents_, false, by_school));
    ASSERT_EQ(r["groups"].size(), 3u);
    EXPECT_EQ(r["groups"][0]["name"], "No.1 Primary");
    EXPECT_EQ(r["groups"][0]["district"], "D-1");
    EXPECT_EQ(r["groups"][2]["district"], "D-2");
}

TEST_F(Reports, ByUnitPutsUnreachedIncidentsUnderUnassigned) {
    const json r = report(kRange + "&group_by=unit");
    const auto want = expected(incidents_, false, by_unit);
    expect_groups(r, want);
    ASSERT_EQ(r["groups"].size(), 3u);
    EXPECT_EQ(r["groups"][0]["name"], "Patrol 1");
    EXPECT_EQ(r["groups"][1]["name"], "Patrol 2");
    const json& unassigned = r["groups"][2];
    EXPECT_TRUE(unassigned["key"].is_null());
    EXPECT_EQ(unassigned["name"], "unassigned");
    EXPECT_EQ(unassigned["count"], unassigned["unreached"]);
    EXPECT_TRUE(unassigned["arrival_s"]["p50"].is_null());
    EXPECT_EQ(unassigned["sla_arrival_pct"], 0.0);
}

TEST_F(Reports, ByKind) {
    const json r = report(kRange + "&group_by=kind");
    expect_groups(r, expected(incidents_, false, by_kind));
    EXPECT_EQ(r["groups"][0]["name"], r["groups"][0]["key"]);
}

TEST_F(Reports, DrillsOnlyWhenAskedFor) {
    const json r = report(kRange + "&group_by=district&drill=true");
    EXPECT_EQ(r["drill"], true);
    const auto want = expected(incidents_, true, by_district);
    ASSERT_FALSE(want.empty());
    expect_groups(r, want);
}

TEST_F(Reports, DistrictAndSchoolFilters) {
    expect_groups(report(kRange + "&group_by=school&district=D-2"),
                  expected(incidents_, false, by_school,
                           [](const Incident& i) { return i.district == "D-2"; }));
    expect_groups(report(kRange + "&group_by=district&school=S-3"),
                  expected(incidents_, false, by_district,
                           [](const Incident& i) { return i.school == "S-3"; }));
    expect_groups(
        report(kRange + "&group_by=kind&school=S-1"),
        expected(incidents_, false, by_kind, [](const Incident& i) { return i.school == "S-1"; }));
    EXPECT_EQ(report(kRange + "&group_by=district&district=D-404")["groups"].size(), 0u);
}

TEST_F(Reports, EducationTokensLimitedToDistrictsSeeOnlyThose) {
    const auto edu = make_token("education", "bureau-hanyang", "", "D-2");
    const auto only_d2 = [](const Incident& i) { return i.district == "D-2"; };
    expect_groups(report(kRange + "&group_by=district", edu),
                  expected(incidents_, false, by_district, only_d2));
    expect_groups(report(kRange + "&group_by=school", edu),
                  expected(incidents_, false, by_school, only_d2));
    expect_groups(report(kRange + "&group_by=unit", edu),
                  expected(incidents_, false, by_unit, only_d2));
    EXPECT_EQ(report(kRange + "&group_by=district&district=D-1", edu)["groups"].size(), 0u);
    // A token of both districts sees both (there is no education token of
    // every district: one without districts cannot be created).
    const auto all = make_token("education", "bureau-city", "", "D-1,D-2");
    expect_groups(report(kRange + "&group_by=district", all),
                  expected(incidents_, false, by_district));
}

TEST_F(Reports, ManyDistrictsShareBranches) {
    // More districts than the report runs branches (64): some branches hold
    // several districts, each with its own limits.
    Limits limits = kLimits;
    std::vector<Incident> all = incidents_;
    for (int d = 0; d < 70; ++d) {
        const std::string district = "D-X" + std::to_string(d);
        const std::string school = "S-X" + std::to_string(d);
        const bool override = d % 3 == 0;
        db_->column(
            "INSERT INTO districts (id, name, sla_ack_s, sla_arrival_s) VALUES ($1, $2, $3::int, "
            "$4::int)",
            {district, "District " + std::to_string(d),
             override ? std::optional<std::string>(std::to_string(20 + d)) : std::nullopt,
             override ? std::optional<std::string>(std::to_string(200 + d)) : std::nullopt});
        if (override) limits[district] = {20 + d, 200 + d};
        db_->column(
            "INSERT INTO schools (id, name, district_id, lat, lon) VALUES ($1, $1, $2, 30.5, "
            "114.3)",
            {school, district});
        for (int k = 0; k < 1 + d % 4; ++k) {
            Incident i;
            i.id = "I-X" + std::to_string(d) + "-" + std::to_string(k);
            i.school = school;
            i.district = district;
            i.kind = "other";
            i.received = kFrom + (d * 13 + k * 101) * kMinute;
            i.offer = (1 + k) * kSecond;
            i.accept = (15 + 9 * k + d % 17) * kSecond;
            if (k != 2) i.arrival = (150 + 31 * k + 2 * d) * kSecond, i.unit = "P-1";
            db_->column(
                "INSERT INTO incidents (id, school_id, district_id, kind, state, received_at, "
                "last_alarm_at,"
                " first_offer_at, first_accept_at, first_arrival_at, first_unit_id, closed_at)"
                " VALUES ($1, $2, $3, 'other', 'resolved', $4::timestamptz, $4::timestamptz, "
                "$5::timestamptz,"
                " $6::timestamptz, $7::timestamptz, $8, $4::timestamptz + interval '1 hour')",
                {i.id, school, district, format_iso_micros(i.received),
                 format_iso_micros(i.received + *i.offer),
                 format_iso_micros(i.received + *i.accept),
                 i.arrival ? std::optional<std::string>(format_iso_micros(i.received + *i.arrival))
                           : std::nullopt,
                 i.unit});
            all.push_back(i);
        }
    }
    const json r = report(kRange + "&group_by=district");
    expect_groups(r, expected(all, false, by_district, {}, limits));
    ASSERT_EQ(r["groups"].size(), 72u);
    EXPECT_EQ(r["groups"][2]["key"], "D-X0");
    EXPECT_EQ(r["groups"][2]["name"], "District 0");
    EXPECT_EQ(r["groups"][2]["sla_ack_s"], 20);
    EXPECT_EQ(r["groups"][3]["sla_ack_s"], kDefaultAck);
}

TEST_F(Reports, EmptyRangeHasNoGroups) {
    const json r = report("from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z&group_by=school");
    EXPECT_EQ(r["groups"], json::array());
}

TEST_F(Reports, CsvReadsBackToTheSameFigures) {
    for (const char* group_by : {"district", "school", "unit", "kind"}) {
        const std::string query = kRange + "&group_by=" + group_by;
        const json r = report(query);
        auto csv = get("/api/v1/reports/response-times.csv?" + query, auditor_);
        ASSERT_EQ(csv.status, 200) << csv.body;
        EXPECT_EQ(csv.headers["Content-Type"].rfind("text/csv", 0), 0u)
            << csv.headers["Content-Type"];
        const auto rows = parse_csv(csv.body);
        ASSERT_EQ(rows.size(), r["groups"].size() + 1) << csv.body;
        const std::vector<std::string> header = {"key",          "name",         "count",
                                                 "unreached",    "dispatch_p50", "dispatch_p90",
                                                 "dispatch_p95", "dispatch_p99", "dispatch_max",
                                                 "ack_p50",      "ack_p90",      "ack_p95",
                                                 "ack_p99",      "ack_max",      "arrival_p50",
                                                 "arrival_p90",  "arrival_p95",  "arrival_p99",
                                                 "arrival_max",  "sla_ack_pct",  "sla_arrival_pct"};
        EXPECT_EQ(rows[0], header);
        for (std::size_t n = 0; n < r["groups"].size(); ++n) {
            const json& g = r["groups"][n];
            const auto& row = rows[n + 1];
            ASSERT_EQ(row.size(), header.size()) << group_by << " row " << n;
            EXPECT_EQ(row[0], g["key"].is_null() ? "" : g["key"].get<std::string>());
            EXPECT_EQ(row[1], g["name"].get<std::string>());
            EXPECT_EQ(std::stoll(row[2]), g["count"].get<long long>());
            EXPECT_EQ(std::stoll(row[3]), g["unreached"].get<long long>());
            std::size_t col = 4;
            for (const char* m : {"dispatch_s", "ack_s", "arrival_s"}) {
                for (const char* p : {"p50", "p90", "p95", "p99", "max"}) {
                    const json& v = g[m][p];
                    if (v.is_null()) {
                        EXPECT_EQ(row[col], "") << group_by << " " << m << "." << p;
                    } else {
                        EXPECT_EQ(std::stod(row[col]), v.get<double>())
                            << group_by << " " << m << "." << p;
                    }
                    ++col;
                }
            }
            EXPECT_EQ(std::stod(row[col++]), g["sla_ack_pct"].get<double>());
            EXPECT_EQ(std::stod(row[col++]), g["sla_arrival_pct"].get<double>());
        }
    }
}

TEST_F(Reports, BadParametersAre400NamingTheParameter) {
    const auto expect_bad = [&](const std::string& query, const std::string& name) {
        for (const char* path :
             {"/api/v1/reports/response-times?", "/api/v1/reports/response-times.csv?"}) {
            auto r = get(path + query, auditor_);
            EXPECT_EQ(r.status, 400) << query;
            EXPECT_EQ(r.json()["error"], "bad_parameter") << r.body;
            EXPECT_EQ(r.json()["message"].get<std::string>().rfind(name + ":", 0), 0u)
                << query << ": " << r.body;
        }
    };
    expect_bad("to=2026-03-11T00:00:00Z&group_by=district", "from");
    expect_bad("from=2026-03-10&to=2026-03-11T00:00:00Z&group_by=district", "from");
    expect_bad("from=2026-03-10T00:00:00Z&group_by=district", "to");
    expect_bad("from=2026-03-10T00:00:00Z&to=yesterday&group_by=district", "to");
    expect_bad("from=2026-03-10T00:00:00Z&to=2026-03-10T00:00:00Z&group_by=district", "to");
    expect_bad("from=2026-03-11T00:00:00Z&to=2026-03-10T00:00:00Z&group_by=district", "to");
    expect_bad(kRange, "group_by");
    expect_bad(kRange + "&group_by=terminal", "group_by");
    expect_bad(kRange + "&group_by=district&drill=maybe", "drill");
    expect_bad(kRange + "&group_by=district&tz=Asia/Shanghai", "tz");
}

TEST_F(Reports, NeedATokenAndARole) {
    auto none = get("/api/v1/reports/response-times?" + kRange + "&group_by=district", "");
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.json()["error"], "unauthorized");
    auto csv_none = get("/api/v1/reports/response-times.csv?" + kRange + "&group_by=district", "");
    EXPECT_EQ(csv_none.status, 401);
    const auto unit = make_token("unit", "p1-phone", "P-1");
    auto forbidden = get("/api/v1/reports/response-times?" + kRange + "&group_by=district", unit);
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_EQ(forbidden.json()["error"], "forbidden");
    auto csv_forbidden =
        get("/api/v1/reports/response-times.csv?" + kRange + "&group_by=district", unit);
    EXPECT_EQ(csv_forbidden.status, 403);
    for (const char* role : {"dispatcher", "education", "admin"}) {
        const auto token = make_token(role, std::string("who-") + role, "",
                                      role == std::string("education") ? "D-1" : "");
        EXPECT_EQ(get("/api/v1/reports/response-times?" + kRange + "&group_by=kind", token).status,
                  200)
            << role;
    }
}

}  // namespace
}  // namespace huxiao::test
