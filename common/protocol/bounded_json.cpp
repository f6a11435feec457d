#include "common/protocol/bounded_json.hpp"

#include <nlohmann/json.hpp>

namespace huxiao {

namespace {

using nlohmann::json;

// Forwards every SAX event to nlohmann's own DOM builder and stops the parse
// (returns false) as soon as a container would open beyond the limit, so
// neither the parser nor the DOM ever holds more than `max_depth` levels.
// nlohmann's DOM builder lives in detail::, but it is the very class
// json::parse uses; wrapping it keeps the result identical to json::parse.
class DepthLimitedBuilder {
  public:
    DepthLimitedBuilder(json& root, std::size_t max_depth)
        : dom_(root, /*allow_exceptions=*/false), max_depth_(max_depth) {}

    bool null() { return dom_.null(); }
    bool boolean(bool v) { return dom_.boolean(v); }
    bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
    bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
    bool number_float(json::number_float_t v, const json::string_t& s) {
        return dom_.number_float(v, s);
    }
    bool string(json::string_t& v) { return dom_.string(v); }
    bool binary(json::binary_t& v) { return dom_.binary(v); }
    bool key(json::string_t& v) { return dom_.key(v); }

    bool start_object(std::size_t n) { return open() && dom_.start_object(n); }
    bool end_object() {
        --depth_;
        return dom_.end_object();
    }
    bool start_array(std::size_t n) { return open() && dom_.start_array(n); }
    bool end_array() {
        --depth_;
        return dom_.end_array();
    }

    bool parse_error(std::size_t position, const std::string& /*last_token*/,
                     const nlohmann::detail::exception& ex) {
        // ex.what() reads "[json.exception.parse_error.101] parse error at line 1, column 5:
        // syntax error while parsing value - ..."; keep the part after the tag.
        std::string what = ex.what();
        if (const auto tag_end = what.find("] ");
            what.rfind("[json.", 0) == 0 && tag_end != std::string::npos) {
            what.erase(0, tag_end + 2);
        }
        (void)position;  // already in the message (line and column)
        error_ = JsonError{JsonError::Cause::syntax, "not valid JSON: " + what};
        return false;
    }

    const JsonError& error() const { return error_; }

  private:
    bool open() {
        if (++depth_ > max_depth_) {
            error_ = JsonError{JsonError::Cause::too_deep,
                               "JSON nested deeper than " + std::to_string(max_depth_) + " levels"};
            return false;
        }
        return true;
    }

    nlohmann::detail::json_sax_dom_parser<json> dom_;
    std::size_t max_depth_;
    std::size_t depth_ = 0;
    JsonError error_{JsonError::Cause::syntax, "not valid JSON"};
};

}  // namespace

BoundedJson parse_bounded_json(std::string_view text, std::size_t max_depth) {
    json root;
    DepthLimitedBuilder builder(root, max_depth);
    const bool ok = json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true,
                                    /*ignore_comments=*/false);
    if (!ok) return builder.error();
    return root;
}

}  // namespace huxiao
