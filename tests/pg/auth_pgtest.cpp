// TokenAuthenticator against the real PostgreSQL: look-ups of tokens that are
// not cached share one budget, so a flood of made-up tokens is answered
// `unavailable` instead of queueing on the read connections, and it never
// evicts the cached tokens of real consoles (docs/security.md, section 2.2).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "server/app/auth.hpp"
#include "server/db/migrations.hpp"
#include "server/db/read_db.hpp"
#include "server/db/registry_store.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;

class TokenLookups : public ::testing::Test {
  protected:
    void SetUp() override {
        db::PgSync c(db_.url());
        db::apply_migrations(c);
        c.exec(
            "INSERT INTO api_tokens (name, role, token_hash) VALUES ('desk-1', 'dispatcher', "
            "decode($1, 'hex'))",
            {db::token_hash_hex(kValid)});
        DatabaseConfig config;
        config.url = db_.url();
        read_db_ = std::make_unique<db::ReadDb>(io_.get_executor(), config, 1);
        read_db_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        asio::post(io_, [this] { read_db_->stop(); });
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }
    TokenAuthenticator::Outcome authenticate(TokenAuthenticator& auth, const std::string& token) {
        return asio::co_spawn(io_, auth.authenticate(token), asio::use_future).get();
    }

    // No refill during the test: the burst is the whole budget.
    static constexpr AuthLimits kSixLookups{
        .lookups_per_s = 0.0001, .lookup_burst = 6, .max_cached = 3};
    const std::string kValid = "hx_valid_token_of_desk_1";
    TestDatabase db_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::unique_ptr<db::ReadDb> read_db_;
    std::thread thread_;
};

TEST_F(TokenLookups, UnknownTokensBeyondTheBudgetAreUnavailableAndNeverEvictAValidOne) {
    TokenAuthenticator auth(*read_db_, kSixLookups);
    const auto first = authenticate(auth, kValid);  // look-up 1
    ASSERT_TRUE(first.who);
    EXPECT_EQ(first.who->name, "desk-1");

    // Look-ups 2-6: unknown, answered as such (and more than max_cached of them).
    for (int i = 0; i < 5; ++i) {
        const std::string junk = "junk-" + std::to_string(i);
        const auto outcome = authenticate(auth, junk);
        EXPECT_FALSE(outcome.who) << junk;
        EXPECT_FALSE(outcome.unavailable) << junk;
    }
    // The budget is spent: another made-up token is not looked up.
    const std::string more = "junk-more";
    const auto refused = authenticate(auth, more);
    EXPECT_FALSE(refused.who);
    EXPECT_TRUE(refused.unavailable);

    // The valid token is still cached (a look-up would be refused now).
    const auto again = authenticate(auth, kValid);
    ASSERT_TRUE(again.who);
    EXPECT_EQ(again.who->role, "dispatcher");
    // An unknown token answered before is cached too: no look-up, no refusal.
    const std::string cached_junk = "junk-4";
    EXPECT_FALSE(authenticate(auth, cached_junk).unavailable);
}

TEST_F(TokenLookups, ARevocationEmptiesTheCache) {
    TokenAuthenticator auth(*read_db_, kSixLookups);
    ASSERT_TRUE(authenticate(auth, kValid).who);
    db::PgSync c(db_.url());
    c.exec("UPDATE api_tokens SET revoked_at = now() WHERE name = 'desk-1'");
    auth.revoked("desk-1");
    const auto after = authenticate(auth, kValid);
    EXPECT_FALSE(after.who);
    EXPECT_FALSE(after.unavailable);
}

}  // namespace
}  // namespace huxiao::test
