#include "common/util/csv.hpp"

namespace huxiao {

std::string csv_text_cell(std::string_view text) {
    std::string cell;
    cell.reserve(text.size() + 3);
    if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos)
        cell += '\'';
    cell += text;
    if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
    std::string quoted = "\"";
    for (char c : cell) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

}  // namespace huxiao
