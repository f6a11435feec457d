// The patrol unit codec (common/protocol/unit_protocol): the wire shape of
// what the dispatch core sends to units, and decoding of what units send.
#include "common/protocol/unit_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace huxiao::unit_protocol {
namespace {

using nlohmann::json;

TEST(UnitProtocol, OfferIsTheContractShape) {
    const dispatch::OfferMessage offer{
        "I-1", "fire", true, "S-1", "No.1 Primary", GeoPoint{30.5928, 114.3055}, 117, 20};
    EXPECT_EQ(
        json::parse(encode(offer)),
        (json{{"type", "offer"},
              {"incident", "I-1"},
              {"kind", "fire"},
              {"drill", true},
              {"school",
               {{"id", "S-1"}, {"name", "No.1 Primary"}, {"lat", 30.5928}, {"lon", 114.3055}}},
              {"eta_s", 117},
              {"expires_in_s", 20}}));
}

TEST(UnitProtocol, AnOfferForASchoolTheRegistryDoesNotKnowHasOnlyItsId) {
    const dispatch::OfferMessage offer{"I-1", "medical", false, "S-404", {}, {}, 0, 20};
    EXPECT_EQ(json::parse(encode(offer))["school"], (json{{"id", "S-404"}}));
}

TEST(UnitProtocol, WithdrawnAndClosed) {
    EXPECT_EQ(json::parse(encode(
                  dispatch::OfferWithdrawnMessage{"I-1", dispatch::WithdrawReason::reassigned})),
              (json{{"type", "offer_withdrawn"}, {"incident", "I-1"}, {"reason", "reassigned"}}));
    EXPECT_EQ(json::parse(encode(dispatch::OfferWithdrawnMessage{
                  "I-1", dispatch::WithdrawReason::cancelled}))["reason"],
              "cancelled");
    EXPECT_EQ(json::parse(encode(dispatch::IncidentClosedMessage{"I-1"})),
              (json{{"type", "incident_closed"}, {"incident", "I-1"}}));
}

TEST(UnitProtocol, DecodesEachMessageAsTheTokensUnit) {
    auto d = decode(R"({"type":"accept","incident":"I-1","unit":"P-9"})", "P-1");
    ASSERT_TRUE(std::holds_alternative<dispatch::Event>(d));
    const auto& accept = std::get<dispatch::UnitAccept>(std::get<dispatch::Event>(d));
    EXPECT_EQ(accept.unit, "P-1");  // never the message's
    EXPECT_EQ(accept.incident, "I-1");
    auto bad = decode(R"({"type":"position","lat":91,"lon":0})", "P-1");
    ASSERT_TRUE(std::holds_alternative<Error>(bad));
    EXPECT_EQ(std::get<Error>(bad).code, "bad_frame");
    auto unknown = decode(R"({"type":"dance"})", "P-1");
    ASSERT_TRUE(std::holds_alternative<Error>(unknown));
    EXPECT_EQ(std::get<Error>(unknown).code, "unknown_type");
}

}  // namespace
}  // namespace huxiao::unit_protocol
