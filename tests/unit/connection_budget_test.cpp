// ConnectionBudget (common/util): the pre-authentication caps of issue #8.
#include "common/util/connection_budget.hpp"

#include <gtest/gtest.h>

namespace huxiao {
namespace {

ConnectionBudget small() { return ConnectionBudget({4, 2, 3}); }

TEST(ConnectionBudget, RefusesPastThePerAddressCapWhileOtherAddressesStillGetIn) {
    auto b = small();
    EXPECT_EQ(b.admit("127.0.0.2"), Refusal::none);
    EXPECT_EQ(b.admit("127.0.0.2"), Refusal::none);
    EXPECT_EQ(b.admit("127.0.0.2"), Refusal::per_address);
    EXPECT_EQ(b.admit("127.0.0.1"), Refusal::none);
    EXPECT_EQ(b.unauthenticated_from("127.0.0.2"), 2u);
    EXPECT_EQ(b.unauthenticated(), 3u);
}

TEST(ConnectionBudget, RefusesPastTheOverallUnauthenticatedCap) {
    auto b = small();
    for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"})
        EXPECT_EQ(b.admit(a), Refusal::none) << a;
    EXPECT_EQ(b.admit("10.0.0.5"), Refusal::unauthenticated);
}

TEST(ConnectionBudget, AuthenticatingFreesTheUnauthenticatedPlace) {
    auto b = small();
    ASSERT_EQ(b.admit("10.0.0.1"), Refusal::none);
    ASSERT_EQ(b.admit("10.0.0.1"), Refusal::none);
    EXPECT_EQ(b.authenticate("10.0.0.1"), Refusal::none);
    EXPECT_EQ(b.unauthenticated_from("10.0.0.1"), 1u);
    EXPECT_EQ(b.authenticated(), 1u);
    // The address may open another unauthenticated connection now.
    EXPECT_EQ(b.admit("10.0.0.1"), Refusal::none);
    EXPECT_EQ(b.admit("10.0.0.1"), Refusal::per_address);
}

TEST(ConnectionBudget, AuthenticatedConnectionsHaveTheirOwnCap) {
    auto b = small();
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(b.admit("10.0.0.1"), Refusal::none);
        ASSERT_EQ(b.authenticate("10.0.0.1"), Refusal::none);
    }
    ASSERT_EQ(b.admit("10.0.0.1"), Refusal::none);
    EXPECT_EQ(b.authenticate("10.0.0.1"), Refusal::max_connections);
    // Refused: it is still counted as unauthenticated until released.
    EXPECT_EQ(b.unauthenticated(), 1u);
    b.release("10.0.0.1", false);
    EXPECT_EQ(b.unauthenticated(), 0u);
    b.release("10.0.0.1", true);
    EXPECT_EQ(b.authenticated(), 2u);
}

TEST(ConnectionBudget, ReleasingTheLastConnectionOfAnAddressForgetsIt) {
    auto b = small();
    ASSERT_EQ(b.admit("10.0.0.9"), Refusal::none);
    b.release("10.0.0.9", false);
    EXPECT_EQ(b.unauthenticated_from("10.0.0.9"), 0u);
    EXPECT_EQ(b.unauthenticated(), 0u);
}

TEST(ConnectionBudget, CausesHaveMetricLabels) {
    EXPECT_STREQ(to_string(Refusal::per_address), "per_address");
    EXPECT_STREQ(to_string(Refusal::unauthenticated), "unauthenticated");
    EXPECT_STREQ(to_string(Refusal::max_connections), "max_connections");
}

}  // namespace
}  // namespace huxiao
