// Reading a query result by column NAME, with typed values: the one place
// where the API's queries (server/db/*_queries) turn libpq's text cells into
// C++ values. A column is looked up once (column()), then read row by row.
//
// A name the result does not have, a NULL where the reader expects a value,
// or text that is not of the type asked for means that the SQL and its
// reader disagree: a programmer error, thrown as std::logic_error naming the
// column, so that a test that runs the query catches a renamed column.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/db/pg_connection.hpp"
#include "server/db/pg_error.hpp"

namespace huxiao::db {

// What a query of the API gives its caller: the value, or the failure that
// ApiRouter::database_error turns into the contract's 503.
template <class T>
struct DbResult {
    std::optional<PgFailure> failure;  // set: the query did not answer; `value` is empty
    T value{};
};

// SQL condition on a district column against a JSON-array parameter, e.g.
// district_in("i.district_id", "$5") ->
// "i.district_id IN (SELECT json_array_elements_text($5::json))": the list
// of a caller's districts is bound, never spliced into the text.
std::string district_in(const std::string& column, const std::string& param);

// {"a","b"}: a text[] literal to bind as ONE parameter (`$1::text[]`),
// each element quoted, so that no element is ever spliced into SQL.
std::string text_array_param(const std::vector<std::string>& items);

class Rows {
  public:
    // Does not own the result: it must outlive the Rows.
    explicit Rows(const PgResult& result) : r_(result.get()) {}
    explicit Rows(const PGresult* result) : r_(result) {}

    int size() const;
    bool empty() const { return size() == 0; }
    // Rows an INSERT, UPDATE or DELETE touched (PQcmdTuples).
    std::int64_t affected() const;

    // A column's index by its name (as the SELECT list names it: give every
    // expression an alias). Throws std::logic_error when there is none.
    struct Column {
        int index;
        std::string_view name;  // the caller's literal, for error messages
    };
    Column column(std::string_view name) const;

    bool is_null(int row, Column c) const;
    // Text of a cell; "" for NULL.
    std::string text(int row, Column c) const;
    std::optional<std::string> optional_text(int row, Column c) const;
    std::int64_t int64(int row, Column c) const;
    std::optional<std::int64_t> optional_int64(int row, Column c) const;
    double number(int row, Column c) const;  // double precision, numeric, bigint
    std::optional<double> optional_number(int row, Column c) const;
    bool boolean(int row, Column c) const;
    // A json or jsonb cell, parsed.
    nlohmann::json json(int row, Column c) const;

  private:
    const char* value(int row, Column c) const;  // throws on NULL
    const PGresult* r_;
};

}  // namespace huxiao::db
