// Errors of the database layer as error_codes of one category, plus the
// server's diagnostic (libpq message, SQLSTATE) kept next to them.
#pragma once

#include <boost/system/error_code.hpp>
#include <string>

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

}  // namespace huxiao::db

template <>
struct boost::system::is_error_code_enum<huxiao::db::PgErrc> : std::true_type {};
