// Errors of the database layer as error_codes of one category, plus the
// server's diagnostic (libpq message, SQLSTATE) kept next to them, and the one
// place that decides what a failure means for the record that met it.
#pragma once

#include <boost/system/error_code.hpp>
#include <string>
#include <string_view>

namespace huxiao::db {

enum class PgErrc {
    connect_failed = 1,  // could not open a connection
    connection_lost,     // the connection broke with requests in flight
    query_failed,        // the server reported an SQL error (see sqlstate)
    protocol_mismatch,   // results did not match what was sent: connection dropped
    not_connected,       // no usable connection
    timed_out,           // no answer within the deadline
    shutting_down,
};

const boost::system::error_category& pg_category();

inline boost::system::error_code make_error_code(PgErrc e) {
    return {static_cast<int>(e), pg_category()};
}

struct PgFailure {
    boost::system::error_code ec;
    std::string sqlstate;  // empty unless query_failed
    std::string message;
};

// What a failure says about the statement that met it. Only the refusals say
// "this data can never be written as it is"; everything else (a lost or
// read-only connection, a full disk, a lock or statement timeout, a
// serialization failure, an internal error) may pass later, so a write that
// must not be lost is retried with backoff, never discarded.
enum class PgCondition {
    transient,              // retry later: the same statement may succeed
    unique_violation,       // 23505
    foreign_key_violation,  // 23503
    constraint_violation,   // the rest of class 23 (not null, check, exclusion)
    invalid_data,           // class 22: the value itself (bad text, time out of range, ...)
    invalid_statement,      // class 42 (but privileges and missing objects), P0 (RAISE)
};

// From an SQLSTATE alone. Classes 08, 25, 40, 53, 55, 57, 58 and XX, and any
// class not named above, are transient: an unknown code is never a reason to
// drop a record. 42501 (insufficient privilege) and 42P01/42883 (missing
// table or function, e.g. a migration not yet applied) are transient too:
// an operator can fix them without changing the record.
PgCondition classify_sqlstate(std::string_view sqlstate);
// huxiao_fence's error (sql/012): this server's lease epoch is not the
// leader's any more. Not a condition of the record: the writer stops.
inline constexpr std::string_view kFencedSqlstate = "HX001";
// From a whole failure: anything but an SQL error is transient.
PgCondition classify(const PgFailure& failure);
inline bool is_refusal(PgCondition c) { return c != PgCondition::transient; }
std::string_view to_string(PgCondition c);

}  // namespace huxiao::db

template <>
struct boost::system::is_error_code_enum<huxiao::db::PgErrc> : std::true_type {};
