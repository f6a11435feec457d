// Request-target splitting and query decoding (common/protocol/request_target),
// shared by ApiRouter and the http_request fuzz target.
#include "common/protocol/request_target.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace huxiao {
namespace {

using Params = std::map<std::string, std::string>;

TEST(RequestTarget, SplitsPathAndDecodesQuery) {
    const auto t =
        split_request_target("/api/v1/incidents?from=2026-09-01T00%3A00%3A00Z&school=S+1");
    EXPECT_EQ(t.path, "/api/v1/incidents");
    EXPECT_EQ(t.query, (Params{{"from", "2026-09-01T00:00:00Z"}, {"school", "S 1"}}));
}

TEST(RequestTarget, PathWithoutQueryHasNoParameters) {
    const auto t = split_request_target("/healthz");
    EXPECT_EQ(t.path, "/healthz");
    EXPECT_TRUE(t.query.empty());
    EXPECT_EQ(split_request_target("").path, "");
}

TEST(RequestTarget, OnlyTheFirstQuestionMarkSplits) {
    const auto t = split_request_target("/a?b=c?d");
    EXPECT_EQ(t.path, "/a");
    EXPECT_EQ(t.query, (Params{{"b", "c?d"}}));
}

TEST(RequestTarget, MalformedPercentEscapesAreKeptAsTheyAre) {
    EXPECT_EQ(parse_query("a=%&b=%4&c=%zz&d=100%"),
              (Params{{"a", "%"}, {"b", "%4"}, {"c", "%zz"}, {"d", "100%"}}));
    EXPECT_EQ(parse_query("e=%41%62"), (Params{{"e", "Ab"}}));
}

TEST(RequestTarget, EmptyPartsAndMissingValues) {
    EXPECT_EQ(parse_query("&&a&=x&b=&&"), (Params{{"a", ""}, {"", "x"}, {"b", ""}}));
}

TEST(RequestTarget, LaterDuplicatesWin) {
    EXPECT_EQ(parse_query("limit=1&limit=2"), (Params{{"limit", "2"}}));
}

TEST(RequestTarget, EncodedSeparatorsAndNulStayInsideTheValue) {
    const auto q = parse_query("a=%26b%3Dc&n=x%00y");
    EXPECT_EQ(q.at("a"), "&b=c");
    EXPECT_EQ(q.at("n"), std::string("x\0y", 3));
}

TEST(RequestTarget, PathSegmentsAreDecodedStrictly) {
    EXPECT_EQ(decode_path_segment("night%20shift"), "night shift");
    EXPECT_EQ(decode_path_segment("a+b%2Bc"), "a+b+c");
    EXPECT_EQ(decode_path_segment("%E6%8A%A4"), "\xE6\x8A\xA4");
    EXPECT_EQ(decode_path_segment(""), "");
    for (const char* bad : {"%", "%4", "%zz", "x%4", "a/b", "a%2Fb", "a%00b", "a%0Ab", "a%7F"}) {
        EXPECT_EQ(decode_path_segment(bad), std::nullopt) << bad;
    }
}

}  // namespace
}  // namespace huxiao
