#include "common/model/registry_import.hpp"

#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/protocol/bounded_json.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "common/util/time_zone.hpp"

namespace huxiao {

namespace {

using nlohmann::json;

constexpr std::array<const char*, 7> kWeekdays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int weekday_index(const std::string& name) {
    for (std::size_t i = 0; i < kWeekdays.size(); ++i) {
        if (name == kWeekdays[i]) return static_cast<int>(i);
    }
    return -1;
}

// Reads the fields of one record and collects errors that name it.
class RecordReader {
  public:
    RecordReader(const json& record, std::string where, std::vector<std::string>& errors)
        : record_(record), where_(std::move(where)), errors_(errors) {
        if (!record_.is_object()) error("must be an object");
    }

    void error(const std::string& message) {
        errors_.push_back(where_ + ": " + message);
        ok_ = false;
    }
    void field_error(const std::string& field, const std::string& message) {
        error("field \"" + field + "\" " + message);
    }
    bool ok() const { return ok_; }
    void name_id(const std::string& id) {
        if (!id.empty()) where_ += " (id \"" + id + "\")";
    }

    bool has(const char* field) const { return record_.is_object() && record_.contains(field); }

    std::string id(const char* field) {
        std::string value = text(field);
        if (ok_ && !value.empty() && !terminal::is_valid_id(value)) {
            field_error(field, "must be 1-64 printable ASCII characters");
        }
        return value;
    }

    std::string text(const char* field, bool required = true) {
        if (!record_.is_object()) return {};
        auto it = record_.find(field);
        if (it == record_.end()) {
            if (required) field_error(field, "is missing");
            return {};
        }
        if (!it->is_string() || it->get<std::string>().empty()) {
            field_error(field, "must be a non-empty string");
            return {};
        }
        return it->get<std::string>();
    }

    double number(const char* field, double min, double max) {
        if (!record_.is_object()) return 0;
        auto it = record_.find(field);
        if (it == record_.end()) {
            field_error(field, "is missing");
            return 0;
        }
        if (!it->is_number()) {
            field_error(field, "must be a number");
            return 0;
        }
        const double v = it->get<double>();
        if (v < min || v > max) {
            std::ostringstream s;
            s << "is out of range (" << v << " not in " << min << ".." << max << ")";
            field_error(field, s.str());
        }
        return v;
    }

    bool boolean(const char* field, bool fallback) {
        if (!record_.is_object()) return fallback;
        auto it = record_.find(field);
        if (it == record_.end()) return fallback;
        if (!it->is_boolean()) {
            field_error(field, "must be true or false");
            return fallback;
        }
        return it->get<bool>();
    }

    const json* child(const char* field) const {
        if (!record_.is_object()) return nullptr;
        auto it = record_.find(field);
        return it == record_.end() ? nullptr : &*it;
    }

    void allow_only(std::initializer_list<const char*> fields) {
        if (!record_.is_object()) return;
        for (auto it = record_.begin(); it != record_.end(); ++it) {
            bool known = false;
            for (const char* f : fields) known = known || it.key() == f;
            if (!known) field_error(it.key(), "is not a known field");
        }
    }

  private:
    const json& record_;
    std::string where_;
    std::vector<std::string>& errors_;
    bool ok_ = true;
};

const json& section(const json& doc, const char* name, std::vector<std::string>& errors) {
    static const json empty = json::array();
    auto it = doc.find(name);
    if (it == doc.end()) return empty;
    if (!it->is_array()) {
        errors.push_back(std::string(name) + ": must be an array");
        return empty;
    }
    return *it;
}

std::string where(const char* section_name, std::size_t index) {
    return std::string(section_name) + "[" + std::to_string(index) + "]";
}

// Ids must be unique within a section of the file.
bool first_time(std::set<std::string>& seen, const std::string& id, RecordReader& r) {
    if (id.empty()) return false;
    if (!seen.insert(id).second) {
        r.error("duplicate id \"" + id + "\" in this file");
        return false;
    }
    return true;
}

bool all_hex(const std::string& s) {
    for (const char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

// A prefix letter and 1-6 hex digits, as DC-09 writes receiver and line numbers.
bool is_dc09_prefixed(const std::string& s, char letter) {
    return s.size() >= 2 && s.size() <= 7 && s[0] == letter && all_hex(s.substr(1));
}

std::optional<Dc09Identity> read_dc09(const json& d, RecordReader& r) {
    if (!d.is_object()) {
        r.field_error("dc09", "must be an object like {\"account\":\"1234\"}");
        return std::nullopt;
    }
    Dc09Identity id;
    bool ok = true;
    const auto text = [&](const char* field, std::string& out) {
        auto it = d.find(field);
        if (it == d.end()) return;
        if (!it->is_string()) {
            r.field_error(std::string("dc09.") + field, "must be a string");
            ok = false;
            return;
        }
        out = it->get<std::string>();
    };
    for (auto it = d.begin(); it != d.end(); ++it) {
        if (it.key() != "account" && it.key() != "receiver" && it.key() != "line" &&
            it.key() != "key_hex") {
            r.field_error("dc09." + it.key(), "is not a known field");
            ok = false;
        }
    }
    text("account", id.account);
    text("receiver", id.receiver);
    text("line", id.line);
    text("key_hex", id.key_hex);
    if (id.account.size() < 3 || id.account.size() > 16 || !all_hex(id.account)) {
        r.field_error("dc09.account", "must be 3-16 hex digits");
        ok = false;
    }
    if (!id.receiver.empty() && !is_dc09_prefixed(id.receiver, 'R')) {
        r.field_error("dc09.receiver", "must be R and 1-6 hex digits, like \"R1\"");
        ok = false;
    }
    if (!id.line.empty() && !is_dc09_prefixed(id.line, 'L')) {
        r.field_error("dc09.line", "must be L and 1-6 hex digits, like \"L1\"");
        ok = false;
    }
    const std::size_t k = id.key_hex.size();
    if (!id.key_hex.empty() && (!all_hex(id.key_hex) || (k != 32 && k != 48 && k != 64))) {
        r.field_error("dc09.key_hex", "must be 32, 48 or 64 hex digits (AES-128/192/256)");
        ok = false;
    }
    // Upper case, as panels send the account and as keys are compared.
    for (auto* s : {&id.account, &id.key_hex}) {
        for (char& c : *s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (!ok) return std::nullopt;
    return id;
}

}  // namespace

unsigned parse_weekdays(const std::string& text) {
    if (text == "daily" || text == "mon-sun") return 0x7F;
    if (!text.empty() && text.back() == ',') return 0;  // getline would drop the empty last part
    unsigned mask = 0;
    std::stringstream parts(text);
    std::string part;
    while (std::getline(parts, part, ',')) {
        const auto dash = part.find('-');
        if (dash == std::string::npos) {
            const int d = weekday_index(part);
            if (d < 0) return 0;
            mask |= 1u << d;
        } else {
            const int from = weekday_index(part.substr(0, dash));
            const int to = weekday_index(part.substr(dash + 1));
            if (from < 0 || to < 0 || to < from) return 0;
            for (int d = from; d <= to; ++d) mask |= 1u << d;
        }
    }
    return mask;
}

bool parse_window(const std::string& text, MinuteWindow& out) {
    // Exactly "HH:MM-HH:MM": no signs, spaces or trailing characters.
    if (text.size() != 11 || text[2] != ':' || text[5] != '-' || text[8] != ':') return false;
    for (const std::size_t i : {0u, 1u, 3u, 4u, 6u, 7u, 9u, 10u}) {
        if (text[i] < '0' || text[i] > '9') return false;
    }
    const auto two = [&](std::size_t i) { return (text[i] - '0') * 10 + (text[i + 1] - '0'); };
    const int h1 = two(0), m1 = two(3), h2 = two(6), m2 = two(9);
    if (h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59) return false;
    out.begin_min = h1 * 60 + m1;
    out.end_min = h2 * 60 + m2;
    return out.begin_min < out.end_min && out.end_min <= 24 * 60;
}

RegistryParse parse_registry(const std::string& json_text, const KnownIds& known) {
    RegistryParse out;
    auto& errors = out.errors;
    BoundedJson parsed = parse_bounded_json(json_text);
    if (auto* e = std::get_if<JsonError>(&parsed)) {
        errors.push_back(e->cause == JsonError::Cause::too_deep ? "the file holds " + e->message
                                                                : "the file is not valid JSON");
        return out;
    }
    const json doc = std::move(std::get<json>(parsed));
    if (!doc.is_object()) {
        errors.push_back("the file must hold a JSON object");
        return out;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        static const std::set<std::string> kSections = {"districts", "schools", "terminals",
                                                        "units", "guard_posts"};
        if (!kSections.count(it.key())) errors.push_back(it.key() + ": unknown section");
    }

    std::set<std::string> districts = known.districts, schools = known.schools, units = known.units;
    std::set<std::string> seen;
    const json& ds = section(doc, "districts", errors);
    for (std::size_t i = 0; i < ds.size(); ++i) {
        RecordReader r(ds[i], where("districts", i), errors);
        District d;
        d.id = r.id("id");
        r.name_id(d.id);
        r.allow_only({"id", "name", "sla"});
        d.name = r.text("name");
        if (const json* sla = r.child("sla")) {
            if (!sla->is_object()) {
                r.field_error("sla", "must be an object");
            } else {
                for (auto f = sla->begin(); f != sla->end(); ++f) {
                    if (f.key() != "ack_s" && f.key() != "arrival_s") {
                        r.field_error("sla." + f.key(), "is not a known field");
                    } else if (!f->is_number_integer() || f->get<long long>() < 1 ||
                               f->get<long long>() > 86400) {
                        r.field_error("sla." + f.key(), "must be an integer between 1 and 86400");
                    } else {
                        (f.key() == "ack_s" ? d.sla.ack_s : d.sla.arrival_s) = f->get<int>();
                    }
                }
            }
        }
        if (first_time(seen, d.id, r) && r.ok()) {
            districts.insert(d.id);
            out.registry.districts.push_back(std::move(d));
        }
    }

    seen.clear();
    const json& ss = section(doc, "schools", errors);
    for (std::size_t i = 0; i < ss.size(); ++i) {
        RecordReader r(ss[i], where("schools", i), errors);
        School s;
        s.id = r.id("id");
        r.name_id(s.id);
        r.allow_only({"id", "name", "district", "lat", "lon"});
        s.name = r.text("name");
        s.district = r.text("district");
        s.location.lat = r.number("lat", -90, 90);
        s.location.lon = r.number("lon", -180, 180);
        if (!s.district.empty() && !districts.count(s.district)) {
            r.field_error("district",
                          "\"" + s.district +
                              "\" is an unknown district (neither in this file nor registered)");
        }
        if (first_time(seen, s.id, r) && r.ok()) {
            schools.insert(s.id);
            out.registry.schools.push_back(std::move(s));
        }
    }

    seen.clear();
    std::set<std::string> dc09_seen;
    const json& ts = section(doc, "terminals", errors);
    for (std::size_t i = 0; i < ts.size(); ++i) {
        RecordReader r(ts[i], where("terminals", i), errors);
        Terminal t;
        t.id = r.id("id");
        r.name_id(t.id);
        r.allow_only({"id", "school", "enabled", "dc09"});
        t.school = r.text("school");
        t.enabled = r.boolean("enabled", true);
        if (const json* d = r.child("dc09")) {
            t.dc09 = read_dc09(*d, r);
            if (t.dc09 &&
                !dc09_seen.insert(t.dc09->account + "/" + t.dc09->receiver + "/" + t.dc09->line)
                     .second) {
                r.field_error("dc09", "account #" + t.dc09->account +
                                          " is given to another terminal of this file");
            }
        }
        if (!t.school.empty() && !schools.count(t.school)) {
            r.field_error(
                "school",
                "\"" + t.school + "\" is an unknown school (neither in this file nor registered)");
        }
        if (first_time(seen, t.id, r) && r.ok()) out.registry.terminals.push_back(std::move(t));
    }

    seen.clear();
    const json& us = section(doc, "units", errors);
    for (std::size_t i = 0; i < us.size(); ++i) {
        RecordReader r(us[i], where("units", i), errors);
        Unit u;
        u.id = r.id("id");
        r.name_id(u.id);
        r.allow_only({"id", "callsign", "district", "lat", "lon", "enabled"});
        u.callsign = r.has("callsign") ? r.text("callsign") : u.id;
        u.district = r.text("district");
        u.home.lat = r.number("lat", -90, 90);
        u.home.lon = r.number("lon", -180, 180);
        u.enabled = r.boolean("enabled", true);
        if (!u.district.empty() && !districts.count(u.district)) {
            r.field_error("district",
                          "\"" + u.district +
                              "\" is an unknown district (neither in this file nor registered)");
        }
        if (first_time(seen, u.id, r) && r.ok()) {
            units.insert(u.id);
            out.registry.units.push_back(std::move(u));
        }
    }

    seen.clear();
    const json& gs = section(doc, "guard_posts", errors);
    for (std::size_t i = 0; i < gs.size(); ++i) {
        RecordReader r(gs[i], where("guard_posts", i), errors);
        r.allow_only({"school", "unit", "days", "windows", "tz"});
        GuardPost g;
        g.school = r.text("school");
        g.unit = r.text("unit");
        g.days = r.text("days");
        g.tz = r.has("tz") ? r.text("tz") : "Asia/Shanghai";
        // Windows are computed in this zone (common/util/time_zone.hpp): one
        // the tz database does not know is refused here, not skipped later.
        if (!g.tz.empty() && !TimeZone::locate(g.tz)) {
            r.field_error("tz",
                          "\"" + g.tz + "\" is not a known time zone (not in the tz database)");
        }
        if (!g.school.empty() && !schools.count(g.school)) {
            r.field_error("school", "\"" + g.school + "\" is an unknown school");
        }
        if (!g.unit.empty() && !units.count(g.unit)) {
            r.field_error("unit", "\"" + g.unit + "\" is an unknown unit");
        }
        if (!g.days.empty()) {
            g.weekday_mask = parse_weekdays(g.days);
            if (g.weekday_mask == 0) {
                r.field_error("days", "\"" + g.days + "\" is not like \"mon-fri\" or \"sat,sun\"");
            }
        }
        const json* windows = r.child("windows");
        if (!windows || !windows->is_array() || windows->empty()) {
            r.field_error("windows", "must be a non-empty array like [\"07:00-08:30\"]");
        } else {
            for (const auto& w : *windows) {
                MinuteWindow mw;
                if (!w.is_string() || !parse_window(w.get<std::string>(), mw)) {
                    r.field_error("windows", w.dump() + " is not a window like \"07:00-08:30\"");
                    continue;
                }
                g.windows.push_back(mw);
                g.window_texts.push_back(w.get<std::string>());
            }
        }
        if (!g.school.empty() && !g.unit.empty() && !seen.insert(g.school + "/" + g.unit).second) {
            r.error("duplicate guard post for school \"" + g.school + "\" and unit \"" + g.unit +
                    "\"");
        }
        if (r.ok()) out.registry.guard_posts.push_back(std::move(g));
    }
    return out;
}

}  // namespace huxiao
