// The inspection checklist of contract §10 and the validation of a recorded
// inspection (POST /api/v1/inspections). Pure: the shell passes the parsed
// JSON body and the server's `now`; every failure names the field, so the API
// can answer 400 with it.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/util/time.hpp"

namespace huxiao::inspection {

// The ten checklist codes, in the order the report and the console show them.
std::span<const std::string_view> checklist_codes();
bool is_checklist_code(std::string_view code);
// Codes huxiao fills from live data (auto_items.hpp) beside the inspector's answer.
bool is_auto_code(std::string_view code);

bool is_result(std::string_view r);    // pass | fail | na
bool is_kind(std::string_view k);      // routine | spot_check | joint
bool is_category(std::string_view c);  // people | physical | technical | management

// Bounds on a recorded inspection (every body has a limit).
inline constexpr std::size_t kChecklistSize = 10;
inline constexpr std::size_t kMaxInspectors = 20;
inline constexpr std::size_t kMaxHazards = 50;
inline constexpr std::size_t kMaxNameChars = 100;
inline constexpr std::size_t kMaxNoteChars = 1000;
inline constexpr std::size_t kMaxDescriptionChars = 2000;
inline constexpr std::size_t kMaxIdChars = 64;
// An inspection may be recorded a while after it took place, never ahead of it.
inline constexpr UnixMicros kMaxFutureSkew = 5 * 60 * kMicrosPerSecond;

struct FieldError {
    std::string field;  // e.g. "hazards[1].deadline"
    std::string message;
};

struct ItemInput {
    std::string code;
    std::string result;
    std::optional<std::string> note;
};

struct HazardInput {
    std::string category;
    std::string description;
    UnixMicros deadline = 0;
    std::string responsible;
};

struct InspectionInput {
    std::string school;
    UnixMicros at = 0;
    std::string kind;
    std::vector<std::string> inspectors;
    std::vector<ItemInput> items;
    std::vector<HazardInput> hazards;
};

std::variant<InspectionInput, FieldError> parse_inspection(const nlohmann::json& body,
                                                           UnixMicros now);

// A free-text field of a body: absent or null -> nothing; else a string of at
// most `max_chars` characters (UTF-8 code points) or a FieldError.
std::variant<std::optional<std::string>, FieldError> optional_text(const nlohmann::json& body,
                                                                   const std::string& field,
                                                                   std::size_t max_chars);

std::size_t utf8_length(std::string_view s);

}  // namespace huxiao::inspection
