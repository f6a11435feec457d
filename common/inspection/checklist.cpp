#include "common/inspection/checklist.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>

namespace huxiao::inspection {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 10> kCodes = {
    "guards_staffed", "guards_trained", "gate_closed_management", "anti_ram_barriers",
    "video_linked",   "alarm_linked",   "alarm_tested",           "guard_post_peak",
    "emergency_plan", "drill_held"};

template <std::size_t N>
bool among(std::string_view v, const std::array<std::string_view, N>& set) {
    return std::find(set.begin(), set.end(), v) != set.end();
}

// Throw-free readers: each returns the value or sets `error`.
struct Reader {
    std::optional<FieldError> error;

    const json* member(const json& obj, const std::string& key, const std::string& field) {
        if (error) return nullptr;
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) {
            error = FieldError{field, "is required"};
            return nullptr;
        }
        return &*it;
    }

    std::string text(const json& obj, const std::string& key, const std::string& field,
                     std::size_t max_chars) {
        const json* v = member(obj, key, field);
        if (!v) return {};
        if (!v->is_string()) {
            error = FieldError{field, "must be a string"};
            return {};
        }
        std::string s = v->get<std::string>();
        if (s.find_first_not_of(" \t\r\n") == std::string::npos) {
            error = FieldError{field, "must not be empty"};
            return {};
        }
        if (utf8_length(s) > max_chars) {
            error =
                FieldError{field, "is longer than " + std::to_string(max_chars) + " characters"};
            return {};
        }
        return s;
    }

    UnixMicros time(const json& obj, const std::string& key, const std::string& field) {
        const std::string s = text(obj, key, field, 64);
        if (error) return 0;
        const auto t = parse_iso8601(s);
        if (!t) {
            error = FieldError{field,
                               "\"" + s + "\" is not an ISO-8601 time like 2026-09-01T08:00:00Z"};
            return 0;
        }
        return *t;
    }

    const json* array(const json& obj, const std::string& key, std::size_t max_items,
                      bool required) {
        if (error) return nullptr;
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) {
            if (required) error = FieldError{key, "is required"};
            return nullptr;
        }
        if (!it->is_array()) {
            error = FieldError{key, "must be an array"};
            return nullptr;
        }
        if (it->size() > max_items) {
            error = FieldError{key, "has more than " + std::to_string(max_items) + " entries"};
            return nullptr;
        }
        return &*it;
    }

    void only(const json& obj, std::initializer_list<const char*> known, const std::string& where) {
        if (error) return;
        for (const auto& [k, v] : obj.items()) {
            bool ok = false;
            for (const char* n : known) ok = ok || k == n;
            if (!ok) {
                error = FieldError{where + k, "unknown field"};
                return;
            }
        }
    }
};

}  // namespace

std::span<const std::string_view> checklist_codes() { return kCodes; }
bool is_checklist_code(std::string_view code) { return among(code, kCodes); }
bool is_auto_code(std::string_view code) {
    return code == "alarm_linked" || code == "alarm_tested" || code == "guard_post_peak" ||
           code == "drill_held";
}
bool is_result(std::string_view r) { return r == "pass" || r == "fail" || r == "na"; }
bool is_kind(std::string_view k) { return k == "routine" || k == "spot_check" || k == "joint"; }
bool is_category(std::string_view c) {
    return c == "people" || c == "physical" || c == "technical" || c == "management";
}

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::variant<std::optional<std::string>, FieldError> optional_text(const json& body,
                                                                   const std::string& field,
                                                                   std::size_t max_chars) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) return std::optional<std::string>{};
    if (!it->is_string()) return FieldError{field, "must be a string"};
    if (utf8_length(it->get_ref<const std::string&>()) > max_chars) {
        return FieldError{field, "is longer than " + std::to_string(max_chars) + " characters"};
    }
    return std::optional<std::string>{it->get<std::string>()};
}

std::variant<InspectionInput, FieldError> parse_inspection(const json& body, UnixMicros now) {
    if (!body.is_object()) return FieldError{"body", "must be a JSON object"};
    Reader r;
    InspectionInput in;
    r.only(body, {"school", "at", "kind", "inspectors", "items", "hazards"}, "");
    in.school = r.text(body, "school", "school", kMaxIdChars);
    in.at = r.time(body, "at", "at");
    if (!r.error && in.at > now + kMaxFutureSkew) {
        r.error = FieldError{"at", "is in the future"};
    }
    in.kind = r.text(body, "kind", "kind", 32);
    if (!r.error && !is_kind(in.kind)) {
        r.error = FieldError{"kind", "must be one of routine, spot_check, joint"};
    }
    if (const json* list = r.array(body, "inspectors", kMaxInspectors, true)) {
        if (list->empty()) r.error = FieldError{"inspectors", "must name at least one inspector"};
        for (std::size_t i = 0; i < list->size() && !r.error; ++i) {
            const std::string field = "inspectors[" + std::to_string(i) + "]";
            const json wrapper = {{"v", (*list)[i]}};
            in.inspectors.push_back(r.text(wrapper, "v", field, kMaxNameChars));
        }
    }
    if (const json* list = r.array(body, "items", kChecklistSize, false)) {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < list->size() && !r.error; ++i) {
            const std::string at = "items[" + std::to_string(i) + "].";
            const json& item = (*list)[i];
            if (!item.is_object()) {
                r.error = FieldError{"items[" + std::to_string(i) + "]", "must be an object"};
                break;
            }
            r.only(item, {"code", "result", "note"}, at);
            ItemInput parsed;
            parsed.code = r.text(item, "code", at + "code", 64);
            if (!r.error && !is_checklist_code(parsed.code)) {
                r.error = FieldError{at + "code", "unknown checklist code \"" + parsed.code + "\""};
            }
            if (!r.error && !seen.insert(parsed.code).second) {
                r.error = FieldError{at + "code", "\"" + parsed.code + "\" is given twice"};
            }
            parsed.result = r.text(item, "result", at + "result", 8);
            if (!r.error && !is_result(parsed.result)) {
                r.error = FieldError{at + "result", "must be one of pass, fail, na"};
            }
            if (!r.error) {
                auto note = optional_text(item, "note", kMaxNoteChars);
                if (auto* e = std::get_if<FieldError>(&note)) {
                    r.error = FieldError{at + e->field, e->message};
                } else {
                    parsed.note = std::get<std::optional<std::string>>(note);
                }
            }
            in.items.push_back(std::move(parsed));
        }
    }
    if (const json* list = r.array(body, "hazards", kMaxHazards, false)) {
        for (std::size_t i = 0; i < list->size() && !r.error; ++i) {
            const std::string at = "hazards[" + std::to_string(i) + "].";
            const json& h = (*list)[i];
            if (!h.is_object()) {
                r.error = FieldError{"hazards[" + std::to_string(i) + "]", "must be an object"};
                break;
            }
            r.only(h, {"category", "description", "deadline", "responsible"}, at);
            HazardInput parsed;
            parsed.category = r.text(h, "category", at + "category", 32);
            if (!r.error && !is_category(parsed.category)) {
                r.error = FieldError{at + "category",
                                     "must be one of people, physical, technical, management"};
            }
            parsed.description = r.text(h, "description", at + "description", kMaxDescriptionChars);
            parsed.deadline = r.time(h, "deadline", at + "deadline");
            if (!r.error && parsed.deadline <= in.at) {
                r.error = FieldError{at + "deadline", "is not after the inspection's time (at)"};
            }
            parsed.responsible = r.text(h, "responsible", at + "responsible", kMaxNameChars);
            in.hazards.push_back(std::move(parsed));
        }
    }
    if (r.error) return *r.error;
    return in;
}

}  // namespace huxiao::inspection
