// What a database failure means for a record (server/db/pg_error): only data
// errors are refusals; everything that may pass later is transient.
#include <gtest/gtest.h>

#include "server/db/pg_error.hpp"

namespace huxiao::db {
namespace {

TEST(PgCondition, OutagesAndOverloadAreTransient) {
    for (const char* state : {
             "08006",  // connection failure
             "08001",  // cannot connect
             "25006",  // read-only transaction (a standby after failover)
             "40001",  // serialization failure
             "40P01",  // deadlock
             "53100",  // disk full
             "53200",  // out of memory
             "53300",  // too many connections
             "55P03",  // lock not available (lock_timeout)
             "57014",  // query cancelled (statement_timeout)
             "57P01",  // admin shutdown
             "58030",  // I/O error
             "XX000",  // internal error
             "42501",  // insufficient privilege: an operator can fix it
             "42P01",  // undefined table: a migration not yet applied
             "0A000",  // an unknown class is never a reason to drop
             "",       // no SQLSTATE at all
         }) {
        EXPECT_EQ(classify_sqlstate(state), PgCondition::transient) << state;
        EXPECT_FALSE(is_refusal(classify_sqlstate(state))) << state;
    }
}

TEST(PgCondition, DataErrorsAreRefusals) {
    EXPECT_EQ(classify_sqlstate("23505"), PgCondition::unique_violation);
    EXPECT_EQ(classify_sqlstate("23503"), PgCondition::foreign_key_violation);
    EXPECT_EQ(classify_sqlstate("23502"), PgCondition::constraint_violation);
    EXPECT_EQ(classify_sqlstate("23514"), PgCondition::constraint_violation);
    EXPECT_EQ(classify_sqlstate("22P05"), PgCondition::invalid_data);  // NUL in jsonb
    EXPECT_EQ(classify_sqlstate("22008"), PgCondition::invalid_data);  // datetime out of range
    EXPECT_EQ(classify_sqlstate("22021"), PgCondition::invalid_data);  // bad UTF-8
    EXPECT_EQ(classify_sqlstate("42804"), PgCondition::invalid_statement);
    EXPECT_EQ(classify_sqlstate("P0001"), PgCondition::invalid_statement);
    for (const char* state : {"23505", "23503", "22P05", "42804", "P0001"}) {
        EXPECT_TRUE(is_refusal(classify_sqlstate(state))) << state;
    }
}

TEST(PgCondition, FailuresWithoutAnSqlErrorAreTransient) {
    for (PgErrc e : {PgErrc::connect_failed, PgErrc::connection_lost, PgErrc::protocol_mismatch,
                     PgErrc::not_connected, PgErrc::timed_out, PgErrc::shutting_down}) {
        // Even with a misleading SQLSTATE beside it, a lost connection says
        // nothing about the data.
        EXPECT_EQ(classify(PgFailure{make_error_code(e), "23505", "x"}), PgCondition::transient);
    }
    EXPECT_EQ(classify(PgFailure{make_error_code(PgErrc::query_failed), "23505", "dup"}),
              PgCondition::unique_violation);
    EXPECT_EQ(classify(PgFailure{make_error_code(PgErrc::query_failed), "25006", "ro"}),
              PgCondition::transient);
}

TEST(PgCondition, EveryConditionHasAName) {
    for (PgCondition c : {PgCondition::transient, PgCondition::unique_violation,
                          PgCondition::foreign_key_violation, PgCondition::constraint_violation,
                          PgCondition::invalid_data, PgCondition::invalid_statement}) {
        EXPECT_NE(to_string(c), "unknown");
    }
}

}  // namespace
}  // namespace huxiao::db
