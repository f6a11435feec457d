#include "server/db/rows.hpp"

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace huxiao::db {

namespace {
[[noreturn]] void disagree(Rows::Column c, const std::string& what) {
    throw std::logic_error("column \"" + std::string(c.name) + "\": " + what);
}

template <class T>
T parse(const char* text, Rows::Column c, const char* type) {
    T out{};
    const char* end = text + std::strlen(text);
    const auto [ptr, ec] = std::from_chars(text, end, out);
    if (ec != std::errc() || ptr != end)
        disagree(c, "\"" + std::string(text) + "\" is not " + type);
    return out;
}
}  // namespace

std::string district_in(const std::string& column, const std::string& param) {
    return column + " IN (SELECT json_array_elements_text(" + param + "::json))";
}

std::string text_array_param(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const std::string& s : items) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (const char c : s) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

int Rows::size() const { return PQntuples(r_); }

std::int64_t Rows::affected() const {
    const char* n = PQcmdTuples(const_cast<PGresult*>(r_));
    if (*n == '\0') return 0;  // not a write
    return parse<std::int64_t>(n, Column{-1, "(affected rows)"}, "a count");
}

Rows::Column Rows::column(std::string_view name) const {
    const std::string quoted = "\"" + std::string(name) + "\"";  // exact, case and all
    const int index = PQfnumber(r_, quoted.c_str());
    if (index < 0) disagree(Column{-1, name}, "not in the result");
    return Column{index, name};
}

bool Rows::is_null(int row, Column c) const { return PQgetisnull(r_, row, c.index) != 0; }

const char* Rows::value(int row, Column c) const {
    if (is_null(row, c)) disagree(c, "NULL in row " + std::to_string(row));
    return PQgetvalue(r_, row, c.index);
}

std::string Rows::text(int row, Column c) const {
    return is_null(row, c) ? std::string() : std::string(PQgetvalue(r_, row, c.index));
}

std::optional<std::string> Rows::optional_text(int row, Column c) const {
    if (is_null(row, c)) return std::nullopt;
    return std::string(PQgetvalue(r_, row, c.index));
}

std::int64_t Rows::int64(int row, Column c) const {
    return parse<std::int64_t>(value(row, c), c, "an integer");
}

std::optional<std::int64_t> Rows::optional_int64(int row, Column c) const {
    if (is_null(row, c)) return std::nullopt;
    return int64(row, c);
}

double Rows::number(int row, Column c) const { return parse<double>(value(row, c), c, "a number"); }

std::optional<double> Rows::optional_number(int row, Column c) const {
    if (is_null(row, c)) return std::nullopt;
    return number(row, c);
}

bool Rows::boolean(int row, Column c) const {
    const std::string_view v = value(row, c);
    if (v == "t") return true;
    if (v == "f") return false;
    disagree(c, "\"" + std::string(v) + "\" is not a boolean");
}

nlohmann::json Rows::json(int row, Column c) const {
    auto parsed = nlohmann::json::parse(value(row, c), nullptr, false);
    if (parsed.is_discarded()) disagree(c, "not JSON in row " + std::to_string(row));
    return parsed;
}

}  // namespace huxiao::db
