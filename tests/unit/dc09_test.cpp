// SIA DC-09 intake core (common/protocol/dc09*): CRC, framing, encryption,
// the receiver's ACK/NAK/DUH decisions, the time window and the mapping of
// Contact ID and SIA codes (contract §9). The worked frames below were
// computed independently (a non-reflected CRC-16/0x8005 over bit-reversed
// bytes, and AES from Python's `cryptography`), not by this code.
#include "common/protocol/dc09.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/config/config.hpp"
#include "common/model/registry_import.hpp"
#include "common/protocol/dc09_cipher.hpp"
#include "common/protocol/dc09_codes.hpp"

namespace huxiao::dc09 {
namespace {

constexpr UnixMicros kSecond = kMicrosPerSecond;
// 2026-11-30T12:00:00Z
constexpr UnixMicros kNoon = 1'796'040'000 * kSecond;

std::string key128() { return *from_hex("000102030405060708090A0B0C0D0E0F"); }

PadSource fixed_pad(char c = 'P') {
    return [c](std::size_t n) { return std::string(n, c); };
}

const char* kPlainPanic =
    "\n3CFC003C\"SIA-DCS\"0002R1L1#1234[#1234|Nri1/PA501]_12:00:00,11-30-2026\r";
const char* kEncryptedCidPanic =
    "\n2B9C0078\"*ADM-CID\"0007R1L1#1234[22471E739E277F7113F059A13EA6E7CDA3DD1D81E75B7343A6F464C3"
    "F13B2DD607A304A69FBA4790362D478302C3A2F4\r";

// ---------------------------------------------------------------- CRC, hex, AES

TEST(Dc09Crc, CheckValueOfCrc16Arc) {
    EXPECT_EQ(crc16_arc("123456789"), 0xBB3D);
    EXPECT_EQ(crc16_arc(""), 0x0000);
    EXPECT_EQ(crc16_arc("A"), 0x30C0);
}

TEST(Dc09Hex, RoundTripAndRejects) {
    EXPECT_EQ(to_hex(std::string("\x00\x1f\xab\xff", 4)), "001FABFF");
    EXPECT_EQ(from_hex("001fABff"), std::string("\x00\x1f\xab\xff", 4));
    EXPECT_FALSE(from_hex("ABC"));
    EXPECT_FALSE(from_hex("0G"));
}

// FIPS-197 appendix C: with a zero IV, the first CBC block is the plain AES block.
TEST(Dc09Aes, Fips197VectorsForAllKeyLengths) {
    const std::string plain = *from_hex("00112233445566778899AABBCCDDEEFF");
    const std::string k128 = *from_hex("000102030405060708090A0B0C0D0E0F");
    const std::string k192 = *from_hex("000102030405060708090A0B0C0D0E0F1011121314151617");
    const std::string k256 =
        *from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
    EXPECT_EQ(to_hex(*aes_cbc_encrypt(k128, plain)), "69C4E0D86A7B0430D8CDB78070B4C55A");
    EXPECT_EQ(to_hex(*aes_cbc_encrypt(k192, plain)), "DDA97CA4864CDFE06EAF70A0EC0D7191");
    EXPECT_EQ(to_hex(*aes_cbc_encrypt(k256, plain)), "8EA2B7CA516745BFEAFC49904B496089");
    for (const auto& k : {k128, k192, k256}) {
        const std::string two_blocks = plain + plain;
        EXPECT_EQ(*aes_cbc_decrypt(k, *aes_cbc_encrypt(k, two_blocks)), two_blocks);
    }
}

TEST(Dc09Aes, RejectsBadKeyLengthsAndPartialBlocks) {
    EXPECT_FALSE(aes_cbc_encrypt(std::string(15, 'k'), std::string(16, 'x')));
    EXPECT_FALSE(aes_cbc_encrypt(std::string(16, 'k'), std::string(17, 'x')));
    EXPECT_FALSE(aes_cbc_decrypt(std::string(33, 'k'), std::string(16, 'x')));
    EXPECT_TRUE(is_valid_key_length(24));
    EXPECT_FALSE(is_valid_key_length(0));
}

// ---------------------------------------------------------------- framing

TEST(Dc09Frame, WrapsWithCrcAndLengthOfTheSpan) {
    EXPECT_EQ(wrap_frame("\"SIA-DCS\"0002R1L1#1234[#1234|Nri1/PA501]_12:00:00,11-30-2026"),
              kPlainPanic);
    EXPECT_EQ(make_nak(kNoon), "\n371B0025\"NAK\"0000R0L0A0[]_12:00:00,11-30-2026\r");
}

TEST(Dc09Frame, ParsesAPlainEnvelope) {
    const auto parsed = parse_envelope(kPlainPanic);
    ASSERT_TRUE(std::holds_alternative<Envelope>(parsed));
    const auto& e = std::get<Envelope>(parsed);
    EXPECT_FALSE(e.encrypted);
    EXPECT_EQ(e.token, Token::sia_dcs);
    EXPECT_EQ(e.sequence, "0002");
    EXPECT_EQ(e.receiver, "R1");
    EXPECT_EQ(e.line, "L1");
    EXPECT_EQ(e.account, "1234");
    EXPECT_EQ(e.body, "[#1234|Nri1/PA501]_12:00:00,11-30-2026");
}

TEST(Dc09Frame, ReceiverIsOptionalAndLineIsHex) {
    const auto frame = wrap_frame("\"NULL\"0010L1F#ABCDEF0123[]");
    const auto parsed = parse_envelope(frame);
    ASSERT_TRUE(std::holds_alternative<Envelope>(parsed));
    const auto& e = std::get<Envelope>(parsed);
    EXPECT_EQ(e.receiver, "");
    EXPECT_EQ(e.line, "L1F");
    EXPECT_EQ(e.account, "ABCDEF0123");
    EXPECT_EQ(e.token, Token::null_message);
}

Rejection rejection_of(const std::string& frame) {
    const auto parsed = parse_envelope(frame);
    if (const auto* e = std::get_if<FrameError>(&parsed)) return e->reason;
    ADD_FAILURE() << "parsed: " << frame;
    return Rejection::unparsable;
}

TEST(Dc09Frame, TransmissionErrorsAreNakReasons) {
    std::string bad_crc = kPlainPanic;
    bad_crc[1] = '4';  // 3CFC -> 4CFC
    EXPECT_EQ(rejection_of(bad_crc), Rejection::bad_crc);
    std::string flipped = kPlainPanic;
    flipped[40] = flipped[40] == '1' ? '2' : '1';  // a data byte changed in transit
    EXPECT_EQ(rejection_of(flipped), Rejection::bad_crc);
    std::string long_length = kPlainPanic;
    long_length[8] = 'D';  // 003C -> 003D
    EXPECT_EQ(rejection_of(long_length), Rejection::bad_length);
    std::string no_zero = kPlainPanic;
    no_zero[5] = '1';  // 003C -> 103C
    EXPECT_EQ(rejection_of(no_zero), Rejection::bad_length);
    EXPECT_EQ(rejection_of(std::string(kPlainPanic).substr(1)), Rejection::bad_frame);
    EXPECT_EQ(rejection_of("\n12\r"), Rejection::bad_frame);
    std::string not_hex = kPlainPanic;
    not_hex[1] = 'Z';
    EXPECT_EQ(rejection_of(not_hex), Rejection::bad_crc);
}

TEST(Dc09Frame, StructuralErrorsAreUnparsable) {
    EXPECT_EQ(rejection_of(wrap_frame("SIA-DCS0002L1#1234[]")), Rejection::unparsable);
    EXPECT_EQ(rejection_of(wrap_frame("\"FOO\"0002L1#1234[]")), Rejection::unparsable);
    EXPECT_EQ(rejection_of(wrap_frame("\"NULL\"002L1#1234[]")), Rejection::unparsable);
    EXPECT_EQ(rejection_of(wrap_frame("\"NULL\"0002#1234[]")), Rejection::unparsable);
    EXPECT_EQ(rejection_of(wrap_frame("\"NULL\"0002L1#12[]")), Rejection::unparsable);
    EXPECT_EQ(rejection_of(wrap_frame("\"NULL\"0002L11234[]")), Rejection::unparsable);
}

TEST(Dc09Timestamp, FormatsAndParses) {
    EXPECT_EQ(format_timestamp(kNoon + 5 * kSecond + 999'999), "_12:00:05,11-30-2026");
    EXPECT_EQ(parse_timestamp("_12:00:05,11-30-2026"), kNoon + 5 * kSecond);
    EXPECT_EQ(parse_timestamp("_00:00:00,02-29-2028"),
              days_from_civil(2028, 2, 29) * 86400 * kSecond);
    EXPECT_FALSE(parse_timestamp("_00:00:00,02-29-2027"));
    EXPECT_FALSE(parse_timestamp("_24:00:00,11-30-2026"));
    EXPECT_FALSE(parse_timestamp("_12:00:00,13-30-2026"));
    EXPECT_FALSE(parse_timestamp("12:00:00,11-30-2026"));
    EXPECT_FALSE(parse_timestamp("_12:00:00,11-30-26"));
}

// ---------------------------------------------------------------- bodies

TEST(Dc09Body, SplitsDataExtendedFieldsAndTimestamp) {
    Envelope e;
    e.token = Token::sia_dcs;
    e.account = "1234";
    e.body = "[#1234|Nri1/BA501][XE114.3055][YN30.5928][IGate 2]_12:00:00,11-30-2026";
    const auto opened = open_message(e, "");
    ASSERT_TRUE(std::holds_alternative<Message>(opened));
    const auto& m = std::get<Message>(opened);
    EXPECT_EQ(m.data, "#1234|Nri1/BA501");
    ASSERT_EQ(m.extended.size(), 3u);
    EXPECT_EQ(m.extended[2].type, 'I');
    EXPECT_EQ(m.extended[2].value, "Gate 2");
    EXPECT_DOUBLE_EQ(*m.longitude, 114.3055);
    EXPECT_DOUBLE_EQ(*m.latitude, 30.5928);
    EXPECT_EQ(m.timestamp, kNoon);
}

TEST(Dc09Body, SignedAndSouthWestCoordinates) {
    Envelope e;
    e.body = "[][X-2.5][YS33.9]";
    const auto m = std::get<Message>(open_message(e, ""));
    EXPECT_DOUBLE_EQ(*m.longitude, -2.5);
    EXPECT_DOUBLE_EQ(*m.latitude, -33.9);
    EXPECT_FALSE(m.timestamp);
}

TEST(Dc09Body, BadBodiesAreUnparsable) {
    for (const char* body : {"", "#1234|NPA", "[#1234|NPA", "[]junk", "[][X200]", "[][Yabc]",
                             "[][x1]", "[]_1200", "[][]"}) {
        Envelope e;
        e.body = body;
        const auto opened = open_message(e, "");
        ASSERT_TRUE(std::holds_alternative<FrameError>(opened)) << body;
        EXPECT_EQ(std::get<FrameError>(opened).reason, Rejection::unparsable) << body;
    }
}

TEST(Dc09Encryption, DecryptsTheWorkedExample) {
    const auto e = std::get<Envelope>(parse_envelope(kEncryptedCidPanic));
    EXPECT_TRUE(e.encrypted);
    EXPECT_EQ(e.token, Token::adm_cid);
    const auto opened = open_message(e, key128());
    ASSERT_TRUE(std::holds_alternative<Message>(opened));
    const auto& m = std::get<Message>(opened);
    EXPECT_EQ(m.data, "#1234|1120 01 015");
    EXPECT_EQ(m.timestamp, kNoon);
}

TEST(Dc09Encryption, BuildsTheWorkedExample) {
    const auto frame = make_frame({"ADM-CID", "0007", "R1", "L1", "1234"}, "#1234|1120 01 015", {},
                                  kNoon, key128(), fixed_pad());
    EXPECT_EQ(frame, kEncryptedCidPanic);
}

TEST(Dc09Encryption, RoundTripsEveryKeyLengthAndPadLength) {
    for (const std::size_t key_bytes : {16u, 24u, 32u}) {
        const std::string key(key_bytes, '\x5a');
        // Data lengths that need every pad length from 1 to 16.
        for (std::size_t n = 0; n < 16; ++n) {
            const std::string data = "#ABC|Nri1/FA" + std::string(n, '7');
            const auto frame = make_frame({"SIA-DCS", "0042", "", "L0", "ABC"}, data, {"XE114.3"},
                                          kNoon, key, fixed_pad('q'));
            ASSERT_TRUE(frame);
            const auto e = std::get<Envelope>(parse_envelope(*frame));
            const auto m = std::get<Message>(open_message(e, key));
            EXPECT_EQ(m.data, data);
            EXPECT_DOUBLE_EQ(*m.longitude, 114.3);
            EXPECT_EQ(m.timestamp, kNoon);
        }
    }
}

TEST(Dc09Encryption, WrongKeyOrBadCipherTextIsUndecryptable) {
    const auto e = std::get<Envelope>(parse_envelope(kEncryptedCidPanic));
    const auto wrong = open_message(e, std::string(16, 'x'));
    ASSERT_TRUE(std::holds_alternative<FrameError>(wrong));
    EXPECT_EQ(std::get<FrameError>(wrong).reason, Rejection::undecryptable);
    Envelope odd = e;
    odd.body = "[ABC";
    EXPECT_EQ(std::get<FrameError>(open_message(odd, key128())).reason, Rejection::undecryptable);
    odd.body = "[0011223344556677";  // 8 bytes: not a whole block
    EXPECT_EQ(std::get<FrameError>(open_message(odd, key128())).reason, Rejection::undecryptable);
    odd.body = "00112233445566778899AABBCCDDEEFF";  // no '['
    EXPECT_EQ(std::get<FrameError>(open_message(odd, key128())).reason, Rejection::undecryptable);
}

TEST(Dc09Encryption, RefusesPadsWithSeparators) {
    EXPECT_FALSE(make_body("x", {}, kNoon, key128(), fixed_pad('|')));
    EXPECT_FALSE(make_body("x", {}, kNoon, key128(), [](std::size_t) { return std::string(); }));
    EXPECT_FALSE(make_body("x", {}, kNoon, std::string(7, 'k'), fixed_pad()));
}

// ---------------------------------------------------------------- events

std::vector<PanelEvent> events_of(Token token, std::string data) {
    Message m;
    m.envelope.token = token;
    m.envelope.account = "1234";
    m.data = std::move(data);
    auto parsed = parse_events(m);
    if (auto* e = std::get_if<FrameError>(&parsed)) {
        ADD_FAILURE() << e->message;
        return {};
    }
    return std::get<std::vector<PanelEvent>>(parsed);
}

FrameError events_error(Token token, std::string data) {
    Message m;
    m.envelope.token = token;
    m.envelope.account = "1234";
    m.data = std::move(data);
    auto parsed = parse_events(m);
    if (auto* e = std::get_if<FrameError>(&parsed)) return *e;
    ADD_FAILURE() << "parsed: " << m.data;
    return {};
}

TEST(Dc09Events, ContactIdWithAndWithoutSpaces) {
    for (const char* data : {"#1234|1130 01 015", "1130 01 015", "113001015"}) {
        const auto events = events_of(Token::adm_cid, data);
        ASSERT_EQ(events.size(), 1u) << data;
        EXPECT_EQ(events[0].qualifier, '1');
        EXPECT_EQ(events[0].code, "130");
        EXPECT_EQ(events[0].partition, "01");
        EXPECT_EQ(events[0].zone, "015");
        EXPECT_EQ(describe(events[0]), "CID 1130 01 015");
    }
}

TEST(Dc09Events, SiaItemsModifiersAndAreas) {
    const auto events = events_of(Token::sia_dcs, "#1234|Nri1/BA501/ri2/PA^front door^");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].code, "BA");
    EXPECT_EQ(events[0].zone, "501");
    EXPECT_EQ(events[0].partition, "1");
    EXPECT_EQ(events[1].code, "PA");
    EXPECT_EQ(events[1].zone, "");
    EXPECT_EQ(events[1].partition, "2");
    const auto compact = events_of(Token::sia_dcs, "Nid12ti10:00FA129");
    ASSERT_EQ(compact.size(), 1u);
    EXPECT_EQ(compact[0].code, "FA");
    EXPECT_EQ(compact[0].zone, "129");
}

TEST(Dc09Events, NullCarriesNoEvents) { EXPECT_TRUE(events_of(Token::null_message, "").empty()); }

TEST(Dc09Events, BadEventDataIsUnparsable) {
    EXPECT_EQ(events_error(Token::adm_cid, "#1234|1130 01").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::adm_cid, "#1234|4130 01 015").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::adm_cid, "#1234|1A30 01 015").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::adm_cid, "#9999|1130 01 015").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::sia_dcs, "#1234|").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::sia_dcs, "#1234|Nri1").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::sia_dcs, "#1234|N/p").reason, Rejection::unparsable);
    EXPECT_EQ(events_error(Token::ack, "").reason, Rejection::unparsable);
}

// ---------------------------------------------------------------- code mapping

Classification cid(char q, const char* code, const CodeOverrides& o = {}) {
    return classify({Protocol::contact_id, q, code, "01", "001"}, o);
}
Classification sia(const char* code, const CodeOverrides& o = {}) {
    return classify({Protocol::sia, 'N', code, "", "1"}, o);
}

TEST(Dc09Codes, ContactIdRangesOfTheContract) {
    EXPECT_EQ(cid('1', "100").kind, "medical");
    EXPECT_EQ(cid('1', "109").kind, "medical");
    EXPECT_EQ(cid('1', "110").kind, "fire");
    EXPECT_EQ(cid('1', "119").kind, "fire");
    EXPECT_EQ(cid('1', "120").kind, "assault");
    EXPECT_EQ(cid('1', "122").kind, "assault");
    EXPECT_EQ(cid('1', "129").kind, "assault");
    EXPECT_EQ(cid('1', "130").kind, "intrusion");
    EXPECT_EQ(cid('1', "139").kind, "intrusion");
    EXPECT_EQ(cid('1', "150").meaning, Meaning::alarm);
    EXPECT_EQ(cid('1', "150").kind, "other");
    EXPECT_EQ(cid('1', "406").meaning, Meaning::cancel);
    for (const char* t : {"601", "602", "603"}) EXPECT_EQ(cid('1', t).meaning, Meaning::test);
    EXPECT_EQ(cid('1', "604").meaning, Meaning::event);
    EXPECT_EQ(cid('1', "301").meaning, Meaning::event);
    EXPECT_EQ(cid('1', "401").meaning, Meaning::event);
    EXPECT_EQ(cid('3', "130").meaning, Meaning::restore);
    EXPECT_EQ(cid('6', "130").meaning, Meaning::event);
}

TEST(Dc09Codes, SiaCodesOfTheContract) {
    EXPECT_EQ(sia("PA").kind, "assault");
    EXPECT_EQ(sia("HA").kind, "assault");
    EXPECT_EQ(sia("FA").kind, "fire");
    EXPECT_EQ(sia("MA").kind, "medical");
    EXPECT_EQ(sia("BA").kind, "intrusion");
    EXPECT_EQ(sia("GA").kind, "other");
    EXPECT_EQ(sia("RP").meaning, Meaning::test);
    EXPECT_EQ(sia("TX").meaning, Meaning::test);
    EXPECT_EQ(sia("OC").meaning, Meaning::cancel);
    EXPECT_EQ(sia("BC").meaning, Meaning::cancel);
    EXPECT_EQ(sia("BR").meaning, Meaning::restore);
    EXPECT_EQ(sia("WR").meaning, Meaning::restore);
    EXPECT_EQ(sia("CL").meaning, Meaning::event);
    EXPECT_EQ(sia("CA").meaning, Meaning::event);  // automatic closing, not an alarm
}

TEST(Dc09Codes, OverridesReplaceSingleCodes) {
    CodeOverrides o;
    o.contact_id["151"] = "fire";
    o.contact_id["130"] = "event";
    o.sia["KA"] = "fire";
    o.sia["PA"] = "test";
    EXPECT_EQ(cid('1', "151", o).kind, "fire");
    EXPECT_EQ(cid('1', "130", o).meaning, Meaning::event);
    EXPECT_EQ(cid('3', "151", o).meaning, Meaning::restore);  // restores stay restores
    EXPECT_EQ(cid('1', "120", o).kind, "assault");
    EXPECT_EQ(sia("KA", o).kind, "fire");
    EXPECT_EQ(sia("PA", o).meaning, Meaning::test);
}

TEST(Dc09Codes, OverrideEntriesAreChecked) {
    EXPECT_FALSE(check_override(Protocol::contact_id, "151", "fire"));
    EXPECT_FALSE(check_override(Protocol::sia, "GA", "restore"));
    EXPECT_TRUE(check_override(Protocol::contact_id, "15", "fire"));
    EXPECT_TRUE(check_override(Protocol::contact_id, "15a", "fire"));
    EXPECT_TRUE(check_override(Protocol::sia, "ga", "fire"));
    EXPECT_TRUE(check_override(Protocol::sia, "GAS", "fire"));
    EXPECT_TRUE(check_override(Protocol::sia, "GA", "flood"));
}

// ---------------------------------------------------------------- receive()

class Dc09Receive : public ::testing::Test {
  protected:
    Dc09Receive() {
        accounts.add({"T-0001", "1234", "R1", "L1", key128()});
        accounts.add({"T-0002", "5678", "", "", ""});
        settings.allow_plain = true;
    }
    Verdict receive_at(const std::string& frame, UnixMicros now) {
        return receive(frame, now, accounts, settings, fixed_pad('z'));
    }
    Refused refused(const std::string& frame, UnixMicros now = kNoon) {
        auto v = receive_at(frame, now);
        if (auto* r = std::get_if<Refused>(&v)) return *r;
        ADD_FAILURE() << "accepted: " << frame;
        return {};
    }
    Accepted accepted(const std::string& frame, UnixMicros now = kNoon) {
        auto v = receive_at(frame, now);
        if (auto* a = std::get_if<Accepted>(&v)) return *a;
        ADD_FAILURE() << std::get<Refused>(v).message;
        return {};
    }
    std::string plain(const char* id, const char* seq, const char* account, const char* data,
                      std::optional<UnixMicros> at = kNoon) {
        return *make_frame({id, seq, "", "L0", account}, data, {}, at, "", fixed_pad());
    }
    std::string encrypted(const char* id, const char* seq, const char* data,
                          std::optional<UnixMicros> at = kNoon) {
        return *make_frame({id, seq, "R1", "L1", "1234"}, data, {}, at, key128(), fixed_pad());
    }
    AccountDirectory accounts;
    ReceiverSettings settings;
};

TEST_F(Dc09Receive, EncryptedContactIdPanicIsAcceptedWithAnEncryptedAck) {
    const auto a = accepted(kEncryptedCidPanic, kNoon + 1 * kSecond);
    EXPECT_EQ(a.terminal, "T-0001");
    EXPECT_EQ(a.classification.meaning, Meaning::alarm);
    EXPECT_EQ(a.classification.kind, "assault");
    EXPECT_EQ(a.event_id, "dc09-1234-0007-20261130T120000");
    // The ACK is encrypted with the account's key and carries the receiver's time.
    const auto ack = std::get<Envelope>(parse_envelope(a.ack));
    EXPECT_TRUE(ack.encrypted);
    EXPECT_EQ(ack.token, Token::ack);
    EXPECT_EQ(ack.sequence, "0007");
    EXPECT_EQ(ack.receiver, "R1");
    EXPECT_EQ(ack.line, "L1");
    EXPECT_EQ(ack.account, "1234");
    const auto body = std::get<Message>(open_message(ack, key128()));
    EXPECT_EQ(body.data, "");
    EXPECT_EQ(body.timestamp, kNoon + 1 * kSecond);
}

TEST_F(Dc09Receive, EncryptedAckMatchesTheWorkedExample) {
    const auto a = accepted(kEncryptedCidPanic, kNoon + 1 * kSecond);
    EXPECT_EQ(make_ack(a.message.envelope, kNoon + 1 * kSecond, key128(), fixed_pad()),
              "\nA9A80054\"*ACK\"0007R1L1#1234[799640F7C17762A5018A56E2DB1A4C39A74A8E1E7778EA265B9A"
              "37AEC458EFA3\r");
}

TEST_F(Dc09Receive, PlainSiaMessageIsAcceptedWithAPlainAck) {
    accounts.add({"T-0003", "1235", "", "", ""});
    const auto frame = plain("SIA-DCS", "0002", "1235", "#1235|Nri1/FA129");
    const auto a = accepted(frame);
    EXPECT_EQ(a.terminal, "T-0003");
    EXPECT_EQ(a.classification.kind, "fire");
    EXPECT_EQ(a.ack, wrap_frame("\"ACK\"0002L0#1235[]"));
}

TEST_F(Dc09Receive, RetransmissionHasTheSameEventId) {
    const auto first = accepted(kEncryptedCidPanic, kNoon);
    const auto again = accepted(kEncryptedCidPanic, kNoon + 20 * kSecond);
    EXPECT_EQ(first.event_id, again.event_id);
    const auto next = accepted(encrypted("ADM-CID", "0008", "#1234|1120 01 015"), kNoon);
    EXPECT_NE(next.event_id, first.event_id);
}

TEST_F(Dc09Receive, RestampedOrUnstampedRetransmissionKeepsTheFirstEventId) {
    RetransmissionMemory memory(60 * kSecond, 100);
    const auto first = accepted(encrypted("ADM-CID", "0010", "#1234|1120 01 015", kNoon), kNoon);
    const std::string id = memory.event_id(first, kNoon);
    EXPECT_EQ(id, first.event_id);
    // The same message stamped anew 5 s later: the same event.
    const auto restamped =
        accepted(encrypted("ADM-CID", "0010", "#1234|1120 01 015", kNoon + 5 * kSecond),
                 kNoon + 5 * kSecond);
    ASSERT_NE(restamped.event_id, first.event_id);
    EXPECT_EQ(memory.event_id(restamped, kNoon + 5 * kSecond), id);
    // Each attempt extends the window: 50 s after the last one, still the same.
    const auto late =
        accepted(encrypted("ADM-CID", "0010", "#1234|1120 01 015", kNoon + 55 * kSecond),
                 kNoon + 55 * kSecond);
    EXPECT_EQ(memory.event_id(late, kNoon + 55 * kSecond), id);
    // Another sequence number, or other data under the same one: another event.
    const auto next =
        accepted(encrypted("ADM-CID", "0011", "#1234|1120 01 015", kNoon + 6 * kSecond),
                 kNoon + 6 * kSecond);
    EXPECT_EQ(memory.event_id(next, kNoon + 6 * kSecond), next.event_id);
    const auto other =
        accepted(encrypted("ADM-CID", "0010", "#1234|1130 01 015", kNoon + 7 * kSecond),
                 kNoon + 7 * kSecond);
    EXPECT_EQ(memory.event_id(other, kNoon + 7 * kSecond), other.event_id);
    // A plain message without timestamp, sent again a second later.
    const auto bare = accepted(plain("SIA-DCS", "0042", "5678", "Nri1/PA1", std::nullopt), kNoon);
    const auto bare_again =
        accepted(plain("SIA-DCS", "0042", "5678", "Nri1/PA1", std::nullopt), kNoon + kSecond);
    ASSERT_NE(bare.event_id, bare_again.event_id);
    EXPECT_EQ(memory.event_id(bare, kNoon), memory.event_id(bare_again, kNoon + kSecond));
    // Past the window after the last attempt: a new event (the panel moved on
    // long ago; sequence numbers wrap).
    const auto much_later =
        accepted(encrypted("ADM-CID", "0010", "#1234|1120 01 015", kNoon + 200 * kSecond),
                 kNoon + 200 * kSecond);
    EXPECT_EQ(memory.event_id(much_later, kNoon + 200 * kSecond), much_later.event_id);
}

TEST_F(Dc09Receive, RetransmissionMemoryIsBounded) {
    RetransmissionMemory memory(3600 * kSecond, 10);
    for (int i = 0; i < 1000; ++i) {
        char seq[8];
        std::snprintf(seq, sizeof seq, "%04d", i);
        memory.event_id(accepted(plain("SIA-DCS", seq, "5678", "Nri1/PA1", kNoon), kNoon), kNoon);
        EXPECT_LE(memory.size(), 10u);
    }
    // The same message over and over stays one entry.
    const auto one = accepted(plain("SIA-DCS", "0001", "5678", "Nri1/BA1", kNoon), kNoon);
    for (int i = 0; i < 1000; ++i) memory.event_id(one, kNoon + i);
    EXPECT_LE(memory.size(), 10u);
}

TEST_F(Dc09Receive, NullIsALinkTest) {
    const auto a = accepted(encrypted("NULL", "0009", ""));
    EXPECT_EQ(a.classification.meaning, Meaning::test);
    EXPECT_TRUE(a.events.empty());
    const auto p = accepted(plain("NULL", "0001", "5678", "", std::nullopt));
    EXPECT_EQ(p.terminal, "T-0002");
    EXPECT_EQ(p.classification.meaning, Meaning::test);
}

TEST_F(Dc09Receive, TheMostSignificantEventDecides) {
    const auto a = accepted(plain("SIA-DCS", "0003", "5678", "Nri1/RP/BR501/BA502/CL1"));
    EXPECT_EQ(a.classification.kind, "intrusion");
    ASSERT_TRUE(a.decisive);
    EXPECT_EQ(a.decisive->zone, "502");
    EXPECT_EQ(a.events.size(), 4u);
}

TEST_F(Dc09Receive, BadCrcAndLengthAreNakWithTheReceiverTime) {
    std::string bad = kEncryptedCidPanic;
    bad[1] = 'C';
    auto r = refused(bad, kNoon + 3 * kSecond);
    EXPECT_EQ(r.reason, Rejection::bad_crc);
    EXPECT_EQ(r.response, make_nak(kNoon + 3 * kSecond));
    const auto nak = std::get<Envelope>(parse_envelope(r.response));
    EXPECT_EQ(nak.token, Token::nak);
    EXPECT_EQ(std::get<Message>(open_message(nak, "")).timestamp, kNoon + 3 * kSecond);
    std::string bad_length = kEncryptedCidPanic;
    bad_length[8] = '9';
    EXPECT_EQ(refused(bad_length).reason, Rejection::bad_length);
    EXPECT_EQ(refused(bad_length).response, make_nak(kNoon));
    EXPECT_EQ(refused("garbage\r").reason, Rejection::bad_frame);
    EXPECT_EQ(refused("garbage\r").response, make_nak(kNoon));
}

TEST_F(Dc09Receive, TimestampWindowIsTwentySecondsAheadFortyBehind) {
    const auto frame = encrypted("ADM-CID", "0010", "#1234|1120 01 015", kNoon);
    // The panel's clock ahead of ours by 20 s is still fine, by 21 s not.
    EXPECT_TRUE(std::holds_alternative<Accepted>(receive_at(frame, kNoon - 20 * kSecond)));
    EXPECT_EQ(refused(frame, kNoon - 21 * kSecond).reason, Rejection::stale_timestamp);
    // Behind by 40 s is fine, by 41 s stale.
    EXPECT_TRUE(std::holds_alternative<Accepted>(receive_at(frame, kNoon + 40 * kSecond)));
    const auto r = refused(frame, kNoon + 41 * kSecond);
    EXPECT_EQ(r.reason, Rejection::stale_timestamp);
    EXPECT_EQ(r.response, make_nak(kNoon + 41 * kSecond));
    settings.max_past_s = 60;
    EXPECT_TRUE(std::holds_alternative<Accepted>(receive_at(frame, kNoon + 41 * kSecond)));
}

TEST_F(Dc09Receive, UnknownAccountIsDuhEchoingTheHeader) {
    const auto r = refused(plain("SIA-DCS", "0002", "9999", "Nri1/PA"));
    EXPECT_EQ(r.reason, Rejection::unknown_account);
    EXPECT_EQ(r.response, wrap_frame("\"DUH\"0002L0#9999[]"));
}

TEST_F(Dc09Receive, ReceiverAndLineMustMatchWhereTheIdentityNamesThem) {
    const auto other_receiver =
        *make_frame({"NULL", "0001", "R2", "L1", "1234"}, "", {}, kNoon, key128(), fixed_pad());
    EXPECT_EQ(refused(other_receiver).reason, Rejection::unknown_account);
    const auto any_line =
        *make_frame({"NULL", "0001", "R7", "L9", "5678"}, "", {}, kNoon, "", fixed_pad());
    EXPECT_EQ(accepted(any_line).terminal, "T-0002");
}

TEST_F(Dc09Receive, PlainMessagesNeedAllowPlainAndAnAccountWithoutKey) {
    const auto keyed_plain =
        *make_frame({"NULL", "0001", "R1", "L1", "1234"}, "", {}, kNoon, "", fixed_pad());
    EXPECT_EQ(refused(keyed_plain).reason, Rejection::plain_not_allowed);
    settings.allow_plain = false;
    const auto r = refused(plain("NULL", "0001", "5678", ""));
    EXPECT_EQ(r.reason, Rejection::plain_not_allowed);
    EXPECT_EQ(r.response, wrap_frame("\"DUH\"0001L0#5678[]"));
}

TEST_F(Dc09Receive, EncryptedForAnAccountWithoutKeyOrWithTheWrongKeyIsDuh) {
    const auto for_plain_account =
        *make_frame({"NULL", "0001", "", "L0", "5678"}, "", {}, kNoon, key128(), fixed_pad());
    EXPECT_EQ(refused(for_plain_account).reason, Rejection::undecryptable);
    const auto wrong_key = *make_frame({"NULL", "0001", "R1", "L1", "1234"}, "", {}, kNoon,
                                       std::string(16, 'w'), fixed_pad());
    const auto r = refused(wrong_key);
    EXPECT_EQ(r.reason, Rejection::undecryptable);
    EXPECT_EQ(r.response, wrap_frame("\"DUH\"0001R1L1#1234[]"));
}

TEST_F(Dc09Receive, UnparsableMessagesAreDuh) {
    EXPECT_EQ(refused(wrap_frame("\"SIA-DCS\"0001L0#5678[#5678|Nri1/PA")).reason,
              Rejection::unparsable);
    EXPECT_EQ(refused(plain("ADM-CID", "0001", "5678", "#5678|9999")).reason,
              Rejection::unparsable);
    EXPECT_EQ(refused(plain("SIA-DCS", "0001", "5678", "")).reason, Rejection::unparsable);
    // An encrypted message must carry a timestamp.
    EXPECT_EQ(refused(encrypted("NULL", "0001", "", std::nullopt)).reason, Rejection::unparsable);
    // A receiver takes no responses.
    EXPECT_EQ(refused(wrap_frame("\"ACK\"0001L0#5678[]")).reason, Rejection::unparsable);
    const auto nak = refused(make_nak(kNoon));
    EXPECT_EQ(nak.reason, Rejection::unparsable);
    EXPECT_EQ(nak.response, wrap_frame("\"DUH\"0000R0L0A0[]"));
    // Not even a quoted id: DUH without a header to echo.
    EXPECT_EQ(refused(wrap_frame("hello")).response, wrap_frame("\"DUH\"0000R0L0A0[]"));
    // A panel (and huxiao-sim) can read that DUH: its account is the
    // placeholder "A0", as in a NAK. Found by the dc09_frame fuzz target.
    const auto duh = parse_envelope(wrap_frame("\"DUH\"0000R0L0A0[]"));
    ASSERT_TRUE(std::holds_alternative<Envelope>(duh));
    EXPECT_EQ(std::get<Envelope>(duh).token, Token::duh);
    EXPECT_EQ(std::get<Envelope>(duh).account, "A0");
    EXPECT_EQ(std::get<Envelope>(duh).line, "L0");
}

TEST_F(Dc09Receive, PlainMessageWithoutTimestampUsesTheReceiptSecond) {
    const auto a =
        accepted(plain("SIA-DCS", "0004", "5678", "Nri1/PA1", std::nullopt), kNoon + 250'000);
    EXPECT_EQ(a.event_id, "dc09-5678-0004-r20261130T120000");
}

TEST_F(Dc09Receive, AccountsCompareInUpperCase) {
    accounts.add({"T-0004", "ABC", "", "", ""});
    EXPECT_EQ(accepted(plain("NULL", "0001", "abc", "")).terminal, "T-0004");
}

// ---------------------------------------------------------------- config (dc09_listener)

namespace config_tests {

const char* kRequired = R"(
    "database": { "url": "postgresql://h@127.0.0.1/h" },
    "terminal_listener": { "cert": "c", "key": "k", "client_ca": "ca" },
    "api_listener": { "cert": "c", "key": "k" })";

Config parse_with(const std::string& dc09) {
    return parse_config("{" + std::string(kRequired) + (dc09.empty() ? "" : ",") + dc09 + "}",
                        "/etc/huxiao", std::nullopt);
}

std::string error_with(const std::string& dc09) {
    try {
        parse_with(dc09);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST(Dc09Config, DefaultsOfTheContract) {
    const auto c = parse_with("").dc09_listener;
    EXPECT_FALSE(c.enabled);
    EXPECT_EQ(c.address, "0.0.0.0");
    EXPECT_EQ(c.port, 7400);
    EXPECT_TRUE(c.tcp);
    EXPECT_TRUE(c.udp);
    EXPECT_FALSE(c.allow_plain);
    EXPECT_EQ(c.max_future_s, 20);
    EXPECT_EQ(c.max_past_s, 40);
    EXPECT_TRUE(c.kinds_cid.empty());
    EXPECT_TRUE(c.kinds_sia.empty());
    EXPECT_EQ(c.offline_after_s, 0);  // the TLS terminals' supervision window
}

TEST(Dc09Config, TheContractExampleWithKinds) {
    const auto c = parse_with(R"("dc09_listener": { "enabled": true, "address": "127.0.0.1",
        "port": 7401, "tcp": true, "udp": false, "allow_plain": true,
        "max_skew_s": { "future": 5, "past": 90 },
        "kinds": { "cid": { "151": "fire", "130": "event" }, "sia": { "GA": "other" } },
        "max_connections": 10, "max_frame_bytes": 512, "idle_timeout_s": 60,
        "max_frames_per_s": 3, "offline_after_s": 900 })")
                       .dc09_listener;
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.address, "127.0.0.1");
    EXPECT_EQ(c.port, 7401);
    EXPECT_FALSE(c.udp);
    EXPECT_TRUE(c.allow_plain);
    EXPECT_EQ(c.max_future_s, 5);
    EXPECT_EQ(c.max_past_s, 90);
    EXPECT_EQ(c.kinds_cid.at("151"), "fire");
    EXPECT_EQ(c.kinds_cid.at("130"), "event");
    EXPECT_EQ(c.kinds_sia.at("GA"), "other");
    EXPECT_EQ(c.max_connections, 10);
    EXPECT_EQ(c.max_frame_bytes, 512);
    EXPECT_EQ(c.idle_timeout_s, 60);
    EXPECT_EQ(c.max_frames_per_s, 3);
    EXPECT_EQ(c.offline_after_s, 900);
}

TEST(Dc09Config, ErrorsNameTheKey) {
    EXPECT_EQ(error_with(R"("dc09_listener": { "enable": true })"),
              "dc09_listener.enable: unknown key");
    EXPECT_EQ(error_with(R"("dc09_listener": { "max_skew_s": { "futur": 1 } })"),
              "dc09_listener.max_skew_s.futur: unknown key");
    EXPECT_EQ(error_with(R"("dc09_listener": { "tcp": "yes" })"),
              "dc09_listener.tcp: must be true or false");
    EXPECT_EQ(error_with(R"("dc09_listener": { "port": 70000 })"),
              "dc09_listener.port: must be an integer between 0 and 65535");
    EXPECT_EQ(error_with(R"("dc09_listener": { "enabled": true, "tcp": false, "udp": false })"),
              "dc09_listener: tcp and udp are both false");
    EXPECT_EQ(error_with(R"("dc09_listener": { "kinds": { "cid": { "15": "fire" } } })"),
              "dc09_listener.kinds.cid.15: Contact ID codes are three digits, not \"15\"");
    EXPECT_EQ(error_with(R"("dc09_listener": { "kinds": { "sia": { "GA": "flood" } } })"),
              "dc09_listener.kinds.sia.GA: \"flood\" is not an alarm kind or one of cancel, "
              "test, restore, event");
    EXPECT_EQ(error_with(R"("dc09_listener": { "kinds": { "sia": { "GA": 1 } } })"),
              "dc09_listener.kinds.sia.GA: must be a string");
    EXPECT_EQ(error_with(R"("dc09_listener": { "kinds": { "adm": {} } })"),
              "dc09_listener.kinds.adm: unknown key");
    EXPECT_EQ(error_with(R"("dc09_listener": { "kinds": { "cid": [] } })"),
              "dc09_listener.kinds.cid: must be an object of code: meaning");
}

}  // namespace config_tests

// ---------------------------------------------------------------- registry import (terminal.dc09)

namespace import_tests {

RegistryParse import_terminals(const std::string& terminals) {
    KnownIds known;
    known.schools = {"S-1"};
    return parse_registry(R"({"terminals": )" + terminals + "}", known);
}

std::string joined_errors(const RegistryParse& p) {
    std::string all;
    for (const auto& e : p.errors) all += e + "\n";
    return all;
}

TEST(Dc09Import, IdentityIsReadAndNormalised) {
    const auto p = import_terminals(R"([{"id":"T-1","school":"S-1","dc09":{"account":"12ab",
        "receiver":"R1","line":"L1","key_hex":"000102030405060708090a0b0c0d0e0f"}},
        {"id":"T-2","school":"S-1"}])");
    ASSERT_TRUE(p.errors.empty()) << joined_errors(p);
    ASSERT_EQ(p.registry.terminals.size(), 2u);
    const auto& d = *p.registry.terminals[0].dc09;
    EXPECT_EQ(d.account, "12AB");
    EXPECT_EQ(d.receiver, "R1");
    EXPECT_EQ(d.line, "L1");
    EXPECT_EQ(d.key_hex, "000102030405060708090A0B0C0D0E0F");
    EXPECT_FALSE(p.registry.terminals[1].dc09);
}

TEST(Dc09Import, KeysOfEveryAesLengthAndNoKey) {
    for (const std::size_t hex : {32u, 48u, 64u}) {
        const auto p = import_terminals(R"([{"id":"T-1","school":"S-1","dc09":{"account":"123",
            "key_hex":")" + std::string(hex, 'A') +
                                        R"("}}])");
        EXPECT_TRUE(p.errors.empty()) << joined_errors(p);
    }
    const auto plain =
        import_terminals(R"([{"id":"T-1","school":"S-1","dc09":{"account":"123"}}])");
    ASSERT_TRUE(plain.errors.empty()) << joined_errors(plain);
    EXPECT_EQ(plain.registry.terminals[0].dc09->key_hex, "");
}

TEST(Dc09Import, BadIdentitiesAreNamed) {
    const auto problem = [](const std::string& dc09) {
        return joined_errors(
            import_terminals(R"([{"id":"T-1","school":"S-1","dc09":)" + dc09 + "}]"));
    };
    EXPECT_NE(problem(R"("1234")").find("field \"dc09\" must be an object"), std::string::npos);
    EXPECT_NE(problem(R"({"account":"12"})").find("dc09.account\" must be 3-16 hex digits"),
              std::string::npos);
    EXPECT_NE(problem(R"({"account":"12G4"})").find("dc09.account"), std::string::npos);
    EXPECT_NE(problem(R"({})").find("dc09.account"), std::string::npos);
    EXPECT_NE(problem(R"({"account":"1234","receiver":"1"})").find("dc09.receiver"),
              std::string::npos);
    EXPECT_NE(problem(R"({"account":"1234","line":"L1234567"})").find("dc09.line"),
              std::string::npos);
    EXPECT_NE(problem(R"({"account":"1234","key_hex":"00112233"})").find("dc09.key_hex"),
              std::string::npos);
    EXPECT_NE(problem(R"({"account":"1234","key":"00"})").find("dc09.key\" is not a known field"),
              std::string::npos);
    EXPECT_NE(problem(R"({"account":1234})").find("dc09.account\" must be a string"),
              std::string::npos);
}

TEST(Dc09Import, OneAccountPerReceiverAndLineInAFile) {
    const auto p = import_terminals(R"([{"id":"T-1","school":"S-1","dc09":{"account":"123"}},
        {"id":"T-2","school":"S-1","dc09":{"account":"123"}},
        {"id":"T-3","school":"S-1","dc09":{"account":"123","line":"L2"}}])");
    ASSERT_EQ(p.errors.size(), 1u) << joined_errors(p);
    EXPECT_NE(p.errors[0].find("T-2"), std::string::npos);
}

}  // namespace import_tests

}  // namespace
}  // namespace huxiao::dc09
