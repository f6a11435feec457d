#include "server/api/school_safety_api.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/inspection/hazard_lifecycle.hpp"
#include "common/inspection/school_status.hpp"
#include "common/util/csv.hpp"
#include "server/api/csv_attachment.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/inspection_support.hpp"
#include "server/api/params.hpp"
#include "server/base/clock.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using namespace inspection_support;
using Response = ApiRouter::Response;

namespace {

inspection::HazardStatus status_after(const std::string& event_type) {
    if (event_type == "rectified") return inspection::HazardStatus::rectified;
    if (event_type == "verification_accepted") return inspection::HazardStatus::verified;
    return inspection::HazardStatus::open;  // created, verification_rejected
}

struct SchoolHazards {
    int open = 0, rectified = 0, verified = 0, overdue = 0;
    std::optional<UnixMicros> oldest_overdue_deadline;
};

std::string csv_value(const json& v) {
    if (v.is_null()) return "";
    // Text through the shared neutralisation (common/util/csv); numbers and
    // booleans are not text cells and are written as they are.
    if (v.is_string()) return csv_text_cell(v.get<std::string>());
    return v.dump();
}

std::string to_csv(const json& schools) {
    std::string out = "school,school_name,district,status,last_inspection_at";
    for (const auto code : inspection::checklist_codes()) out += "," + std::string(code);
    for (const auto code : inspection::checklist_codes()) {
        if (inspection::is_auto_code(code)) out += ",auto_" + std::string(code);
    }
    out +=
        ",open_hazards,rectified_hazards,overdue_hazards,availability_pct,last_drill_at,"
        "last_drill_arrival_s,guard_post_scheduled_min,guard_post_present_min,guard_post_pct,"
        "reasons\r\n";
    for (const auto& s : schools) {
        std::string reasons;
        for (const auto& r : s["reasons"])
            reasons += (reasons.empty() ? "" : "; ") + r.get<std::string>();
        out +=
            csv_value(s["school"]) + "," + csv_value(s["school_name"]) + "," +
            csv_value(s["district"]) + "," + csv_value(s["status"]) + "," +
            csv_value(s["last_inspection"].is_null() ? json(nullptr) : s["last_inspection"]["at"]);
        for (const auto code : inspection::checklist_codes()) {
            out += "," + csv_value(s["checklist"][std::string(code)]["result"]);
        }
        for (const auto code : inspection::checklist_codes()) {
            if (inspection::is_auto_code(code)) {
                out += "," + csv_value(s["checklist"][std::string(code)]["auto"]);
            }
        }
        const json& h = s["hazards"];
        const json& d = s["last_drill"];
        const json& g = s["guard_post"];
        out += "," + csv_value(h["open"]) + "," + csv_value(h["rectified"]) + "," +
               csv_value(h["overdue"]) + "," + csv_value(s["availability_pct"]) + "," +
               csv_value(d.is_null() ? json(nullptr) : d["at"]) + "," +
               csv_value(d.is_null() ? json(nullptr) : d["arrival_s"]) + "," +
               csv_value(g["scheduled_min"]) + "," + csv_value(g["present_min"]) + "," +
               csv_value(g["compliance_pct"]) + "," + csv_text_cell(reasons) + "\r\n";
    }
    return out;
}

// What the three queries say, per school.
struct SafetyRows {
    std::map<std::string, std::map<std::string, json>> latest_by_school;  // school → code → answer
    std::map<std::string, json> last_inspection;
    std::map<std::string, SchoolHazards> hazard_counts;
    std::map<std::string, inspection::SchoolSafetyFacts> facts;
};

void read_latest_answers(const std::vector<db::LatestAnswer>& answers, SafetyRows& rows) {
    for (const db::LatestAnswer& a : answers) {
        rows.latest_by_school[a.school][a.code] = {
            {"result", a.result}, {"inspection", a.inspection}, {"at", format_iso_millis(a.at)}};
        rows.facts[a.school].latest[a.code] = a.result;
    }
}

void read_last_inspections(const std::vector<db::LastInspection>& last, SafetyRows& rows) {
    for (const db::LastInspection& i : last) {
        rows.last_inspection[i.school] = {
            {"id", i.id}, {"at", format_iso_millis(i.at)}, {"kind", i.kind}};
        rows.facts[i.school].last_inspection = i.at;
    }
}

// Counted by status as they stood at as_of.
void read_hazards(const std::vector<db::HazardAsOf>& hazards, UnixMicros as_of, SafetyRows& rows) {
    for (const db::HazardAsOf& hz : hazards) {
        if (!hz.last_event || !hz.deadline) continue;
        SchoolHazards& c = rows.hazard_counts[hz.school];
        const auto status = status_after(*hz.last_event);
        const UnixMicros deadline = *hz.deadline;
        if (status == inspection::HazardStatus::open) ++c.open;
        if (status == inspection::HazardStatus::rectified) ++c.rectified;
        if (status == inspection::HazardStatus::verified) ++c.verified;
        if (inspection::is_overdue(status, deadline, as_of)) {
            ++c.overdue;
            c.oldest_overdue_deadline =
                std::min(c.oldest_overdue_deadline.value_or(deadline), deadline);
        }
    }
}

json checklist_of(const std::string& school, const inspection::SchoolSafetyFacts& f,
                  SafetyRows& rows) {
    json checklist = json::object();
    for (const auto code : inspection::checklist_codes()) {
        const std::string c(code);
        json entry = rows.latest_by_school[school].count(c) ? rows.latest_by_school[school][c]
                                                            : json{{"result", nullptr}};
        for (const auto& a : f.auto_now) {
            if (a.code == c) {
                entry["auto"] = a.result;
                entry["auto_reason"] = a.reason;
            }
        }
        checklist[c] = std::move(entry);
    }
    return checklist;
}

// One school of the report; counts its status in `totals`.
json school_item(const SchoolRow& s, SafetyRows& rows, const TimeZone& calendar, UnixMicros as_of,
                 std::map<std::string, int>& totals) {
    inspection::SchoolSafetyFacts& f = rows.facts[s.id];
    const SchoolHazards& h = rows.hazard_counts[s.id];
    f.open_hazards = h.open + h.rectified;
    f.overdue_hazards = h.overdue;
    f.auto_now = inspection::auto_items(s.facts, as_of, calendar);
    const auto status = inspection::school_status(f, as_of);
    ++totals[status.status];
    const auto pct = inspection::guard_post_pct(s.facts);
    return {{"school", s.id},
            {"school_name", s.name},
            {"district", s.district},
            {"lat", s.lat},
            {"lon", s.lon},
            {"status", status.status},
            {"reasons", status.reasons},
            {"last_inspection",
             rows.last_inspection.count(s.id) ? rows.last_inspection[s.id] : json(nullptr)},
            {"checklist", checklist_of(s.id, f, rows)},
            {"hazards",
             {{"open", h.open},
              {"rectified", h.rectified},
              {"verified", h.verified},
              {"overdue", h.overdue},
              {"oldest_overdue_deadline", h.oldest_overdue_deadline
                                              ? json(format_iso_millis(*h.oldest_overdue_deadline))
                                              : json(nullptr)}}},
            {"terminals", {{"enabled", s.facts.terminals}, {"online", s.facts.terminals_online}}},
            {"availability_pct", s.availability_pct ? json(*s.availability_pct) : json(nullptr)},
            {"last_drill",
             s.facts.last_drill
                 ? json{{"at", format_iso_millis(*s.facts.last_drill)},
                        {"arrival_s",
                         s.last_drill_arrival_s ? json(*s.last_drill_arrival_s) : json(nullptr)}}
                 : json(nullptr)},
            {"guard_post",
             {{"scheduled_min", s.facts.guard_scheduled_min},
              {"present_min", s.facts.guard_present_min},
              {"compliance_pct", pct ? json(*pct) : json(nullptr)}}}};
}

asio::awaitable<Response> report(db::ReadDb& db, const Config& config, const ApiRouter::Call& call,
                                 bool csv) {
    const auto& q = call.query;
    only(q, {"district", "school", "as_of"});
    const UnixMicros now = system_now();
    const UnixMicros as_of = time(q, "as_of").value_or(now);
    if (as_of > now) throw BadParameter{"as_of", "is in the future"};
    SchoolSelection sel;
    sel.school = text(q, "school");
    sel.district = text(q, "district");
    sel.visible = visible_districts_json(call.who);

    SchoolRows schools = co_await load_schools(db, config, sel, as_of);
    if (schools.failure)
        co_return ApiRouter::database_error(call, db::PgFailure{{}, "", *schools.failure});

    const db::SchoolFactsFilter filter{sel.school, sel.district, sel.visible};
    const auto records = co_await db::school_safety_records(db, filter, as_of);
    if (records.failure) co_return ApiRouter::database_error(call, *records.failure);

    SafetyRows rows;
    read_latest_answers(records.value.latest, rows);
    read_last_inspections(records.value.last_inspections, rows);
    read_hazards(records.value.hazards, as_of, rows);

    json items = json::array();
    std::map<std::string, int> totals = {{"green", 0}, {"amber", 0}, {"red", 0}};
    for (const auto& school : schools.rows) {
        items.push_back(school_item(school, rows, *schools.calendar, as_of, totals));
    }

    if (csv) co_return csv_attachment(call, "school-safety.csv", to_csv(items));
    co_return reply(call, http::status::ok,
                    {{"as_of", format_iso_millis(as_of)},
                     {"district", sel.district ? json(*sel.district) : json(nullptr)},
                     {"summary", totals},
                     {"schools", std::move(items)}});
}

}  // namespace

void add_school_safety_routes(ApiRouter& router, db::ReadDb& db, const Config& config) {
    for (const bool csv : {false, true}) {
        router.add("GET",
                   csv ? "/api/v1/reports/school-safety.csv" : "/api/v1/reports/school-safety",
                   {"inspector", "auditor", "education"},
                   [&db, &config, csv](const ApiRouter::Call& call) {
                       return report(db, config, call, csv);
                   });
    }
}

}  // namespace huxiao::api
