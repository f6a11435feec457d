#include "server/db/pg_error.hpp"

namespace huxiao::db {

namespace {
class PgCategory final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "huxiao.pg"; }
    std::string message(int ev) const override {
        switch (static_cast<PgErrc>(ev)) {
            case PgErrc::connect_failed:
                return "could not connect to PostgreSQL";
            case PgErrc::connection_lost:
                return "connection to PostgreSQL lost";
            case PgErrc::query_failed:
                return "PostgreSQL reported an error";
            case PgErrc::protocol_mismatch:
                return "unexpected result sequence from PostgreSQL";
            case PgErrc::not_connected:
                return "not connected to PostgreSQL";
            case PgErrc::timed_out:
                return "PostgreSQL did not answer in time";
            case PgErrc::shutting_down:
                return "shutting down";
        }
        return "unknown PostgreSQL error";
    }
};
}  // namespace

const boost::system::error_category& pg_category() {
    static const PgCategory category;
    return category;
}

PgCondition classify_sqlstate(std::string_view sqlstate) {
    if (sqlstate.size() != 5) return PgCondition::transient;
    const std::string_view cls = sqlstate.substr(0, 2);
    if (sqlstate == "23505") return PgCondition::unique_violation;
    if (sqlstate == "23503") return PgCondition::foreign_key_violation;
    if (cls == "23") return PgCondition::constraint_violation;
    if (cls == "22") return PgCondition::invalid_data;
    if (cls == "42") {
        if (sqlstate == "42501" || sqlstate == "42P01" || sqlstate == "42883") {
            return PgCondition::transient;
        }
        return PgCondition::invalid_statement;
    }
    if (cls == "P0") return PgCondition::invalid_statement;
    return PgCondition::transient;
}

PgCondition classify(const PgFailure& failure) {
    if (failure.ec != make_error_code(PgErrc::query_failed)) return PgCondition::transient;
    return classify_sqlstate(failure.sqlstate);
}

std::string_view to_string(PgCondition c) {
    switch (c) {
        case PgCondition::transient:
            return "transient";
        case PgCondition::unique_violation:
            return "unique_violation";
        case PgCondition::foreign_key_violation:
            return "foreign_key_violation";
        case PgCondition::constraint_violation:
            return "constraint_violation";
        case PgCondition::invalid_data:
            return "invalid_data";
        case PgCondition::invalid_statement:
            return "invalid_statement";
    }
    return "unknown";
}

}  // namespace huxiao::db
