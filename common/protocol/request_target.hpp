// The request-target of an HTTP request (origin form, "/path?query") taken
// apart into its path and its percent-decoded query parameters. Pure, so the
// API router, its unit tests and the HTTP fuzz target (tests/fuzz) share it
// without a socket or a database.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace huxiao {

struct RequestTarget {
    std::string path;                          // everything before the first '?', as sent
    std::map<std::string, std::string> query;  // decoded parameters
};

// "a=1&b=x%20y&c" -> {a: "1", b: "x y", c: ""}. '+' is a space; a '%' not
// followed by two hex digits is kept as it is; later duplicates win.
std::map<std::string, std::string> parse_query(std::string_view query);

RequestTarget split_request_target(std::string_view target);

// One path segment, strictly percent-decoded ("night%20shift" -> "night
// shift"): nothing when a '%' is not followed by two hex digits, or when the
// segment holds a '/' (sent or decoded) or a control character. '+' stays '+'.
std::optional<std::string> decode_path_segment(std::string_view segment);

}  // namespace huxiao
