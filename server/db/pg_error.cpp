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

}  // namespace huxiao::db
