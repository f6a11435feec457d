#include "server/api/guard_posts_api.hpp"

#include <algorithm>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <span>

#include "common/geo/guard_post.hpp"
#include "common/model/registry_import.hpp"
#include "common/supervision/guard_post_compliance.hpp"
#include "common/util/csv.hpp"
#include "server/api/csv_attachment.hpp"
#include "server/api/district_scope.hpp"
#include "server/api/params.hpp"
#include "server/base/clock.hpp"
#include "server/db/guard_post_queries.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using std::chrono::sys_days;

namespace {

constexpr int kMaxRangeDays = 93;
// Units whose positions are read by one statement (bounds the result size).
constexpr std::size_t kUnitsPerQuery = 16;

// A bound of the range: a date ("2026-09-01": a whole local day of each
// post's zone, `to` inclusive) or a time (an instant; the range is [from, to)).
struct Bound {
    bool is_date = false;
    sys_days date{};
    UnixMicros time = 0;
};

std::optional<sys_days> parse_date(const std::string& v) {
    if (v.size() != 10 || v[4] != '-' || v[7] != '-') return std::nullopt;
    for (const std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
        if (v[i] < '0' || v[i] > '9') return std::nullopt;
    }
    const std::chrono::year_month_day ymd{
        std::chrono::year{std::stoi(v.substr(0, 4))},
        std::chrono::month{static_cast<unsigned>(std::stoi(v.substr(5, 2)))},
        std::chrono::day{static_cast<unsigned>(std::stoi(v.substr(8, 2)))}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd};
}

Bound bound(const Query& q, const std::string& name) {
    const auto v = text(q, name);
    if (!v) {
        throw BadParameter{name,
                           "is required: a date like 2026-09-01 or an ISO-8601 time like "
                           "2026-09-01T00:00:00Z"};
    }
    Bound b;
    if (const auto d = parse_date(*v)) {
        b.is_date = true;
        b.date = *d;
        return b;
    }
    const auto t = parse_iso8601(*v);
    if (!t) {
        throw BadParameter{name, "\"" + *v +
                                     "\" is not a date like 2026-09-01 or an ISO-8601 time like "
                                     "2026-09-01T00:00:00Z"};
    }
    b.time = *t;
    return b;
}

UnixMicros day_micros(sys_days d) {
    return static_cast<UnixMicros>(d.time_since_epoch().count()) * 86400 * kMicrosPerSecond;
}

// The instant a bound stands for in `zone`: a date is its local midnight
// (for `to`, the next day's).
TimePoint instant(const Bound& b, bool is_to, const TimeZone& zone) {
    if (!b.is_date) return from_unix_micros(b.time);
    const sys_days d = is_to ? b.date + std::chrono::days{1} : b.date;
    return zone.from_local(d, 0).at;
}

std::string date_text(sys_days d) {
    const std::chrono::year_month_day ymd{d};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

std::string bound_text(const Bound& b) {
    if (b.is_date) return date_text(b.date);
    return b.time % 1000 == 0 ? format_iso_millis(b.time) : format_iso_micros(b.time);
}

struct ReportQuery {
    Bound from, to;
    int radius_m = 200;
    int missed_below_pct = 50;
    std::optional<std::string> school, unit, district;
};

ReportQuery parse(const Query& q) {
    only(q, {"from", "to", "school", "unit", "district", "radius_m", "missed_below_pct"});
    ReportQuery r;
    r.from = bound(q, "from");
    r.to = bound(q, "to");
    // Checked in UTC (a date as its UTC day): a post's zone moves both ends alike.
    const UnixMicros f = r.from.is_date ? day_micros(r.from.date) : r.from.time;
    const UnixMicros t = r.to.is_date ? day_micros(r.to.date + std::chrono::days{1}) : r.to.time;
    if (t <= f) throw BadParameter{"to", "must be after from"};
    if (t - f > kMaxRangeDays * 86400LL * kMicrosPerSecond) {
        throw BadParameter{"to", "the range is at most " + std::to_string(kMaxRangeDays) + " days"};
    }
    r.radius_m = integer(q, "radius_m", 200, 1, 100000);
    r.missed_below_pct = integer(q, "missed_below_pct", 50, 1, 100);
    r.school = text(q, "school");
    r.unit = text(q, "unit");
    r.district = text(q, "district");
    return r;
}

struct LoadedPost {
    GuardPost post;
    std::string school_name;
    std::string district;
    GeoPoint school;
    std::shared_ptr<const TimeZone> zone;  // null: a zone the tz database does not know
    TimePoint registered;                  // created_at (sql/009): nothing before it is counted
    TimePoint from, to;                    // the range in the post's zone, clipped to the past
                                           // and to the post's registration
    std::vector<supervision::DayCompliance> days;
};

LoadedPost load_post(const db::GuardPostRow& row) {
    LoadedPost p;
    p.post.school = row.school;
    p.school_name = row.school_name;
    p.district = row.district;
    p.school = {row.lat, row.lon};
    p.post.unit = row.unit;
    p.post.days = row.days;
    p.post.weekday_mask = parse_weekdays(p.post.days);
    const json& windows = row.windows;
    if (windows.is_array()) {
        for (const auto& w : windows) {
            MinuteWindow mw;
            if (w.is_string() && parse_window(w.get<std::string>(), mw)) {
                p.post.windows.push_back(mw);
                p.post.window_texts.push_back(w.get<std::string>());
            }
        }
    }
    p.post.tz = row.tz;
    p.registered = from_unix_micros(row.registered);
    p.zone = TimeZone::locate(p.post.tz);
    return p;
}

// RFC 4180 quoting, and no cell that a spreadsheet would run as a formula.
std::string csv_field(const std::string& s) { return csv_text_cell(s); }

std::string to_csv(const json& items) {
    std::string out =
        "school,school_name,district,unit,date,scheduled_min,present_min,share_pct,missed_windows,"
        "missed\r\n";
    for (const auto& item : items) {
        std::string missed;
        for (const auto& m : item["missed"]) {
            if (!missed.empty()) missed += ';';
            missed += m["window"].get<std::string>();
            missed += '=';
            missed += std::to_string(m["present_min"].get<int>());
            missed += '/';
            missed += std::to_string(m["scheduled_min"].get<int>());
        }
        out += csv_field(item["school"].get<std::string>());
        out += ',';
        out += csv_field(item["school_name"].get<std::string>());
        out += ',';
        out += csv_field(item["district"].get<std::string>());
        out += ',';
        out += csv_field(item["unit"].get<std::string>());
        out += ',';
        out += item["date"].get<std::string>();
        out += ',';
        out += item["scheduled_min"].dump();
        out += ',';
        out += item["present_min"].dump();
        out += ',';
        out += item["share_pct"].dump();
        out += ',';
        out += std::to_string(item["missed"].size());
        out += ',';
        out += csv_field(missed);
        out += "\r\n";
    }
    return out;
}

// Posts of the selection with their compliance per local day over [from, to].
struct ComputedPosts {
    std::vector<LoadedPost> posts;
    json skipped = json::array();
    std::optional<db::PgFailure> failure;
};

// The posts that can be computed, each with its counting range; the others
// in `out.skipped` with the reason.
void admit_posts(const std::vector<db::GuardPostRow>& rows, const ReportQuery& r,
                 TimePoint now_minute, ComputedPosts& out) {
    for (const db::GuardPostRow& row : rows) {
        LoadedPost p = load_post(row);
        std::string reason;
        if (!p.zone) {
            reason = "time zone \"" + p.post.tz + "\" is not in the tz database";
        } else if (p.post.weekday_mask == 0) {
            reason = "days \"" + p.post.days + "\" are not understood";
        } else if (p.post.windows.empty()) {
            reason = "no valid window";
        }
        if (!reason.empty()) {
            out.skipped.push_back(
                {{"school", p.post.school}, {"unit", p.post.unit}, {"reason", reason}});
            continue;
        }
        // Days before the post existed are not missed: counting starts
        // at the first whole minute after its registration.
        p.from = std::max(instant(r.from, false, *p.zone),
                          TimePoint{std::chrono::ceil<std::chrono::minutes>(p.registered)});
        p.to = std::min(instant(r.to, true, *p.zone), now_minute);
        if (p.to < p.from) p.to = p.from;
        out.posts.push_back(std::move(p));
    }
}

// Unit, from, to of each merged window of `units`.
db::PositionSpans sample_spans_of(std::span<const std::string> units,
                                  std::map<std::string, std::vector<std::size_t>>& posts_of_unit,
                                  const std::vector<LoadedPost>& posts,
                                  const supervision::ComplianceRules& rules) {
    db::PositionSpans out;
    for (const std::string& unit : units) {
        std::vector<supervision::TimeSpan> spans;
        for (const std::size_t i : posts_of_unit[unit]) {
            const LoadedPost& p = posts[i];
            const auto more = supervision::sample_spans(p.post, *p.zone, p.from, p.to, rules.hold);
            spans.insert(spans.end(), more.begin(), more.end());
        }
        supervision::merge_spans(spans);
        for (const auto& s : spans) {
            out.units.push_back(unit);
            out.from.push_back(to_unix_micros(s.first));
            out.to.push_back(to_unix_micros(s.second));
        }
    }
    return out;
}

// `limit`: the districts visible to the caller as a JSON array
// (visible_districts_json), nothing for all. The arguments must outlive the
// await (callers pass named variables).
asio::awaitable<ComputedPosts> compute_posts(db::ReadDb& db, const ReportQuery& r,
                                             const std::optional<std::string>& limit,
                                             const supervision::ComplianceRules& rules) {
    ComputedPosts out;
    // Minutes not yet over are not counted (nor held against the unit).
    const TimePoint now_minute =
        std::chrono::floor<std::chrono::minutes>(from_unix_micros(system_now()));

    const db::GuardPostFilter filter{r.school, r.unit, r.district, limit};
    const auto found = co_await db::list_guard_posts(db, filter);
    if (found.failure) {
        out.failure = found.failure;
        co_return out;
    }

    admit_posts(found.value, r, now_minute, out);
    std::vector<LoadedPost>& posts = out.posts;
    // Positions, a few units at a time, only within the scheduled windows.
    std::map<std::string, std::vector<std::size_t>> posts_of_unit;
    for (std::size_t i = 0; i < posts.size(); ++i) posts_of_unit[posts[i].post.unit].push_back(i);
    std::vector<std::string> units;
    for (const auto& entry : posts_of_unit) units.push_back(entry.first);
    for (std::size_t first = 0; first < units.size(); first += kUnitsPerQuery) {
        const std::size_t last = std::min(units.size(), first + kUnitsPerQuery);
        const db::PositionSpans spans = sample_spans_of(
            std::span(units).subspan(first, last - first), posts_of_unit, posts, rules);
        std::map<std::string, std::vector<supervision::PositionSample>> samples;
        if (!spans.units.empty()) {
            const auto positions = co_await db::unit_positions(db, spans);
            if (positions.failure) {
                out.failure = positions.failure;
                co_return out;
            }
            for (const db::PositionRow& p : positions.value) {
                samples[p.unit].push_back({from_unix_micros(p.at), {p.lat, p.lon}});
            }
        }
        for (std::size_t u = first; u < last; ++u) {
            const auto& unit_samples = samples[units[u]];
            for (const std::size_t i : posts_of_unit[units[u]]) {
                LoadedPost& p = posts[i];
                p.days = supervision::guard_post_compliance(p.post, p.school, *p.zone, unit_samples,
                                                            p.from, p.to, rules);
            }
        }
    }

    co_return out;
}

asio::awaitable<ApiRouter::Response> report(db::ReadDb& db, const Config& config,
                                            const ApiRouter::Call& call, bool csv) {
    const ReportQuery r = parse(call.query);
    supervision::ComplianceRules rules;
    rules.radius_m = r.radius_m;
    rules.missed_below_pct = r.missed_below_pct;
    rules.hold = std::chrono::seconds{2 * std::max(1, config.supervision.position_sample_s)};
    const std::optional<std::string> limit = visible_districts_json(call.who);
    ComputedPosts computed = co_await compute_posts(db, r, limit, rules);
    if (computed.failure) co_return ApiRouter::database_error(call, *computed.failure);
    const std::vector<LoadedPost>& posts = computed.posts;
    json& skipped = computed.skipped;

    json items = json::array();
    json counted_posts = json::array();
    long long scheduled_total = 0, present_total = 0, missed_total = 0;
    for (const LoadedPost& p : posts) {
        counted_posts.push_back(
            {{"school", p.post.school},
             {"unit", p.post.unit},
             {"registered_at", format_iso_millis(to_unix_micros(p.registered))},
             {"counted_from",
              p.from < p.to ? json(format_iso_millis(to_unix_micros(p.from))) : json(nullptr)}});
        for (const auto& d : p.days) {
            json missed = json::array();
            for (const auto& w : d.windows) {
                if (!w.missed) continue;
                missed.push_back({{"window", w.window},
                                  {"present_min", w.present_min},
                                  {"scheduled_min", w.scheduled_min}});
            }
            scheduled_total += d.scheduled_min;
            present_total += d.present_min;
            missed_total += static_cast<long long>(missed.size());
            items.push_back({{"school", p.post.school},
                             {"school_name", p.school_name},
                             {"district", p.district},
                             {"unit", p.post.unit},
                             {"date", date_text(d.date)},
                             {"scheduled_min", d.scheduled_min},
                             {"present_min", d.present_min},
                             {"share_pct", supervision::share_pct(d.present_min, d.scheduled_min)},
                             {"missed", std::move(missed)}});
        }
    }

    if (csv) co_return csv_attachment(call, "guard-posts.csv", to_csv(items));
    json summary = {
        {"scheduled_min", scheduled_total},
        {"present_min", present_total},
        {"share_pct", scheduled_total > 0
                          ? json(std::round(10000.0 * static_cast<double>(present_total) /
                                            static_cast<double>(scheduled_total)) /
                                 100.0)
                          : json(nullptr)},
        {"missed_windows", missed_total}};
    json body = {{"from", bound_text(r.from)},
                 {"to", bound_text(r.to)},
                 {"radius_m", r.radius_m},
                 {"hold_s", rules.hold.count()},
                 {"missed_below_pct", r.missed_below_pct},
                 {"items", std::move(items)},
                 {"summary", std::move(summary)},
                 {"posts", std::move(counted_posts)}};
    if (!skipped.empty()) body["skipped"] = std::move(skipped);
    co_return ApiRouter::json(http::status::ok, body, call.req.version(), call.req.keep_alive());
}

}  // namespace

asio::awaitable<GuardPostMinutesBySchool> guard_post_minutes(
    db::ReadDb& db, const Config& config, const std::optional<std::string>& school,
    const std::optional<std::string>& district, const std::optional<std::string>& districts,
    UnixMicros from, UnixMicros to) {
    ReportQuery r;
    r.from.time = from;
    r.to.time = to;
    r.school = school;
    r.district = district;
    supervision::ComplianceRules rules;
    rules.hold = std::chrono::seconds{2 * std::max(1, config.supervision.position_sample_s)};
    const ComputedPosts computed = co_await compute_posts(db, r, districts, rules);
    GuardPostMinutesBySchool out;
    if (computed.failure) out.failure = computed.failure->message;
    for (const LoadedPost& p : computed.posts) {
        auto& m = out.schools[p.post.school];
        for (const auto& d : p.days) {
            m.scheduled_min += d.scheduled_min;
            m.present_min += d.present_min;
        }
    }
    co_return out;
}

void add_guard_post_routes(ApiRouter& router, db::ReadDb& db, const Config& config) {
    router.add(
        "GET", "/api/v1/reports/guard-posts",
        {"auditor", "dispatcher", "education", "admin", "inspector"},
        [&db, &config](const ApiRouter::Call& call) { return report(db, config, call, false); });
    router.add(
        "GET", "/api/v1/reports/guard-posts.csv",
        {"auditor", "dispatcher", "education", "admin", "inspector"},
        [&db, &config](const ApiRouter::Call& call) { return report(db, config, call, true); });
}

}  // namespace huxiao::api
