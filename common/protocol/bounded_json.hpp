// Bounded JSON parsing for every JSON input that comes from outside the
// process (terminal frames, unit and console messages, HTTP bodies, the config
// file, registry imports). Contract 1.1 limits nesting to 64 levels: deeper
// input is refused while it is being parsed, so no recursive code (copying,
// dump(), destruction) ever sees a document deeper than that. Pure: no I/O.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <variant>

namespace huxiao {

// Contract 1.1: "Every JSON input ... has a nesting limit of 64".
inline constexpr std::size_t kMaxJsonDepth = 64;

struct JsonError {
    enum class Cause { syntax, too_deep };
    Cause cause;
    // For the client: "not valid JSON: parse error at line 1, column 6: ..." or
    // "JSON nested deeper than 64 levels".
    std::string message;
};

// Either the parsed document or why it was refused. Callers include
// <nlohmann/json.hpp> to use the value.
using BoundedJson = std::variant<nlohmann::json, JsonError>;

// Parses `text` as one JSON document (nothing but whitespace after it),
// refusing documents whose arrays/objects nest deeper than `max_depth`.
// `{"a":1}` has depth 1, `[[1]]` depth 2, a bare scalar depth 0.
BoundedJson parse_bounded_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace huxiao
