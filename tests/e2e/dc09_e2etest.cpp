// SIA DC-09 intake end to end (contract §9): the real huxiaod and PostgreSQL,
// panels on loopback over TCP and UDP. ACK only after the commit, the
// incident offered to a unit, retransmissions idempotent, NAK and DUH as the
// standard says, no ACK while the database is away and nothing lost after,
// NULL link tests as supervision, identities through import and admin API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/protocol/dc09.hpp"
#include "common/protocol/dc09_cipher.hpp"
#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* const kKeyHex = "000102030405060708090A0B0C0D0E0F1011121314151617";  // AES-192

// Two panels: an encrypted one at S-1 and a plain one at S-2.
const char* const kDc09Terminals = R"json({
  "terminals": [
    {"id": "T-D1", "school": "S-1", "dc09": {"account": "1234", "receiver": "R1", "line": "L1",
                                              "key_hex": "000102030405060708090A0B0C0D0E0F1011121314151617"}},
    {"id": "T-D2", "school": "S-2", "dc09": {"account": "5678"}}
  ]
})json";

UnixMicros now_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}
UnixMicros whole_seconds(UnixMicros t) { return t - t % kMicrosPerSecond; }

std::string pad(std::size_t n) { return std::string(n, 'p'); }

std::string key() { return *dc09::from_hex(kKeyHex); }

// One DC-09 sender on loopback (blocking sockets with timeouts).
class Panel {
  public:
    Panel(int port, bool udp) {
        fd_ = ::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("cannot connect to the dc09 listener");
        }
    }
    ~Panel() { ::close(fd_); }
    Panel(const Panel&) = delete;
    Panel& operator=(const Panel&) = delete;

    void send(const std::string& frame) {
        if (::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(frame.size())) {
            throw std::runtime_error("send failed");
        }
    }

    // The next answer, <LF> to <CR>; nothing on timeout or close.
    std::optional<std::string> read(std::chrono::milliseconds timeout = 10s) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (const auto cr = buffer_.find('\r'); cr != std::string::npos) {
                std::string frame = buffer_.substr(0, cr + 1);
                buffer_.erase(0, cr + 1);
                return frame;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char buf[2048];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return std::nullopt;
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

    // True when the server closes the connection within `timeout` (answers
    // still unread are skipped).
    bool closed_by_server(std::chrono::milliseconds timeout = 10s) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            char buf[2048];
            if (::recv(fd_, buf, sizeof buf, 0) <= 0) return true;
        }
    }

  private:
    int fd_ = -1;
    std::string buffer_;
};

std::string link_test_frame(int seq, const std::string& raw_key) {
    char s[16];
    std::snprintf(s, sizeof s, "%04d", seq % 10000);
    return *dc09::make_frame({"NULL", s, "R1", "L1", "1234"}, "", {}, now_micros(), raw_key, pad);
}

std::string panic_frame(const std::string& seq, UnixMicros at, const std::string& cid = "1120") {
    return *dc09::make_frame({"ADM-CID", seq, "R1", "L1", "1234"}, "#1234|" + cid + " 01 015", {},
                             at, key(), pad);
}

dc09::Envelope envelope_of(const std::string& frame) {
    auto parsed = dc09::parse_envelope(frame);
    if (auto* e = std::get_if<dc09::FrameError>(&parsed)) {
        throw std::runtime_error("bad answer " + frame + ": " + e->message);
    }
    return std::get<dc09::Envelope>(parsed);
}

std::string event_id(const std::string& seq, UnixMicros at) {
    std::string iso = format_iso_millis(at).substr(0, 19);
    std::erase(iso, '-');
    std::erase(iso, ':');
    return "dc09-1234-" + seq + "-" + iso;
}

class Dc09 : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        std::ofstream(dir_ / "dc09.json") << kDc09Terminals;
        auto r = run_huxiaod(
            {"import", "--config", (dir_ / "huxiao.json").string(), (dir_ / "dc09.json").string()});
        ASSERT_EQ(r.status, 0) << r.err;
        config()["dc09_listener"] = {
            {"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}, {"allow_plain", true}};
        config()["supervision"] = {{"heartbeat_s", 1}, {"missed_heartbeats", 2}};
        start_server();
        ASSERT_GT(server().dc09_port(), 0);
    }

    std::unique_ptr<Panel> panel(bool udp = false) {
        return std::make_unique<Panel>(server().dc09_port(), udp);
    }

    // The answer to a link test from a new connection, once the listener
    // takes one again (sequence numbers from `seq` on); nothing if it never
    // does within a minute.
    std::optional<std::string> answer_on_a_new_connection(int seq) {
        std::optional<std::string> answer;
        eventually(
            [&] {
                auto again = panel();
                again->send(link_test_frame(seq++, key()));
                answer = again->read(2s);
                return answer.has_value();
            },
            60s, 100ms);
        return answer;
    }

    // The unit P-1, connected, positioned and available.
    std::unique_ptr<WsClient> unit_on_duty() {
        const std::string token = make_token("unit", "patrol-1", "P-1");
        auto ws = std::make_unique<WsClient>(api_port(), certs_->server_ca());
        if (!ws->connect("/ws/unit", token)) throw std::runtime_error("no WebSocket");
        if (!ws->read_type("welcome")) throw std::runtime_error("no welcome");
        ws->send({{"type", "position"},
                  {"lat", 30.59},
                  {"lon", 114.29},
                  {"at", "2026-09-01T07:30:00Z"}});
        ws->send({{"type", "availability"}, {"status", "available"}});
        ws->send({{"type", "arrived"}, {"incident", "I-sync"}});
        auto sync = ws->read_type("error");
        if (!sync || (*sync)["ref"] != "I-sync") throw std::runtime_error("unit not in service");
        return ws;
    }

    // The value of huxiao_dc09_frames_total{outcome="…"} in /metrics.
    std::string frames_counted(const std::string& outcome) {
        return metric("huxiao_dc09_frames_total{outcome=\"" + outcome + "\"}");
    }
    // The value of one series in /metrics, "0" when absent.
    std::string metric(const std::string& series) {
        auto metrics = get("/metrics", "");
        const std::string prefix = series + " ";
        const auto at = metrics.body.find(prefix);
        if (at == std::string::npos) return "0";
        const auto begin = at + prefix.size();
        return metrics.body.substr(begin, metrics.body.find('\n', begin) - begin);
    }

    // Sends an encrypted panic and checks the encrypted ACK; returns the incident.
    std::string acked_panic(Panel& p, const std::string& seq, UnixMicros at) {
        p.send(panic_frame(seq, at));
        auto answer = p.read();
        if (!answer) throw std::runtime_error("no answer to " + seq + "\n" + server().log());
        const auto ack = envelope_of(*answer);
        EXPECT_EQ(ack.token, dc09::Token::ack) << *answer;
        EXPECT_TRUE(ack.encrypted);
        EXPECT_EQ(ack.sequence, seq);
        EXPECT_EQ(ack.receiver, "R1");
        EXPECT_EQ(ack.line, "L1");
        EXPECT_EQ(ack.account, "1234");
        const auto body = dc09::open_message(ack, key());
        EXPECT_TRUE(std::holds_alternative<dc09::Message>(body))
            << "ACK not encrypted with the key";
        // The ACK follows the commit: the alarm is in the database now.
        return db_->scalar(
            "SELECT coalesce(max(incident_id), '') FROM terminal_events WHERE terminal_id = "
            "'T-D1' AND event_id = $1",
            {event_id(seq, at)});
    }
};

TEST_F(Dc09, EncryptedContactIdPanicOverTcpIsAckedAfterTheCommitAndOfferedToAUnit) {
    auto unit = unit_on_duty();
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    const std::string incident = acked_panic(*p, "0001", at);
    ASSERT_FALSE(incident.empty()) << "acked before the alarm was committed";
    EXPECT_EQ(
        db_->scalar("SELECT kind || ' ' || school_id FROM incidents WHERE id = $1", {incident}),
        "assault S-1");
    auto offer = unit->read_type("offer");
    ASSERT_TRUE(offer);
    EXPECT_EQ((*offer)["incident"], incident);
    EXPECT_EQ((*offer)["kind"], "assault");
    EXPECT_EQ((*offer)["school"]["id"], "S-1");
}

TEST_F(Dc09, EncryptedPanicOverUdpIsAckedAfterTheCommitAndOffered) {
    auto unit = unit_on_duty();
    auto p = panel(true);
    const UnixMicros at = whole_seconds(now_micros());
    const std::string incident = acked_panic(*p, "0002", at);
    ASSERT_FALSE(incident.empty());
    auto offer = unit->read_type("offer");
    ASSERT_TRUE(offer);
    EXPECT_EQ((*offer)["incident"], incident);
}

TEST_F(Dc09, PlainSiaFireOverUdpOpensAnIncidentAtItsSchool) {
    auto p = panel(true);
    const UnixMicros at = whole_seconds(now_micros());
    p->send(*dc09::make_frame({"SIA-DCS", "0042", "", "L0", "5678"}, "#5678|Nri1/FA129", {}, at, "",
                              pad));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(*answer, dc09::wrap_frame("\"ACK\"0042L0#5678[]"));
    EXPECT_EQ(db_->scalar("SELECT i.kind || ' ' || i.school_id FROM terminal_events e JOIN "
                          "incidents i ON i.id = e.incident_id WHERE e.terminal_id = 'T-D2'"),
              "fire S-2");
}

TEST_F(Dc09, TextThatIsNotAsciiStillRecordsTheAlarm) {
    // A panel's [I...] text with bytes above 0x7F (Latin-1, GBK, garbage):
    // not valid UTF-8, which PostgreSQL would refuse with the whole alarm.
    auto p = panel(true);
    const UnixMicros at = whole_seconds(now_micros());
    p->send(*dc09::make_frame({"SIA-DCS", "0043", "", "L0", "5678"}, "#5678|Nri1/FA129",
                              {"I\xE9"
                               "ast gate \xFF"},
                              at, "", pad));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(*answer, dc09::wrap_frame("\"ACK\"0043L0#5678[]"));
    const std::string note = db_->scalar(
        "SELECT details->>'note' FROM incident_events WHERE type = 'alarm_received' AND actor = "
        "'T-D2'");
    EXPECT_NE(note.find("\"?ast gate ?\""), std::string::npos) << note;
}

TEST_F(Dc09, RetransmissionIsAckedAgainAndJoinsTheSameIncident) {
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    const std::string first = acked_panic(*p, "0003", at);
    ASSERT_FALSE(first.empty());
    const std::string again = acked_panic(*p, "0003", at);
    EXPECT_EQ(again, first);
    auto udp = panel(true);
    EXPECT_EQ(acked_panic(*udp, "0003", at), first);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events WHERE terminal_id = 'T-D1'"), "1");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incidents"), "1");
    // The timeline is written behind dispatching: wait for it, then count.
    const std::string timeline_alarms =
        "SELECT count(*) FROM incident_events WHERE type IN ('alarm_received', 'repeat_alarm')";
    EXPECT_TRUE(eventually([&] { return db_->scalar(timeline_alarms) != "0"; }));
    EXPECT_EQ(db_->scalar(timeline_alarms), "1");
}

TEST_F(Dc09, RestampedRetransmissionIsTheSameAlarm) {
    auto p = panel(true);
    const UnixMicros at = whole_seconds(now_micros());
    const std::string first = acked_panic(*p, "0015", at);
    ASSERT_FALSE(first.empty());
    // The panel stamps its retry anew (same sequence number and data).
    p->send(panic_frame("0015", at + kMicrosPerSecond));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events WHERE terminal_id = 'T-D1'"), "1");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incidents"), "1");
}

TEST_F(Dc09, BadCrcIsNakWithTheReceiverTimeAndRecordsNothing) {
    auto p = panel();
    std::string frame = panic_frame("0004", whole_seconds(now_micros()));
    frame[1] = frame[1] == '0' ? '1' : '0';
    const UnixMicros before = whole_seconds(now_micros());
    p->send(frame);
    auto answer = p->read();
    const UnixMicros after = now_micros();
    ASSERT_TRUE(answer) << server().log();
    const auto nak = envelope_of(*answer);
    EXPECT_EQ(nak.token, dc09::Token::nak);
    const auto body = std::get<dc09::Message>(dc09::open_message(nak, ""));
    ASSERT_TRUE(body.timestamp);
    EXPECT_GE(*body.timestamp, before);
    EXPECT_LE(*body.timestamp, after);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events"), "0");
}

TEST_F(Dc09, StaleTimestampIsNakWithTheReceiverTime) {
    auto p = panel();
    const UnixMicros stale = whole_seconds(now_micros()) - 120 * kMicrosPerSecond;
    const UnixMicros before = whole_seconds(now_micros());
    p->send(panic_frame("0005", stale));
    auto answer = p->read();
    const UnixMicros after = now_micros();
    ASSERT_TRUE(answer) << server().log();
    const auto nak = envelope_of(*answer);
    EXPECT_EQ(nak.token, dc09::Token::nak);
    EXPECT_FALSE(nak.encrypted);
    const auto body = std::get<dc09::Message>(dc09::open_message(nak, ""));
    ASSERT_TRUE(body.timestamp);
    EXPECT_GE(*body.timestamp, before);  // ours, not the panel's
    EXPECT_LE(*body.timestamp, after);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events"), "0");
}

TEST_F(Dc09, UnknownAccountAndUnparsableMessagesAreDuh) {
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    p->send(*dc09::make_frame({"SIA-DCS", "0006", "", "L0", "9999"}, "#9999|Nri1/PA1", {}, at, "",
                              pad));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(*answer, dc09::wrap_frame("\"DUH\"0006L0#9999[]"));
    // Encrypted with another key: DUH, echoing the header.
    p->send(*dc09::make_frame({"ADM-CID", "0007", "R1", "L1", "1234"}, "#1234|1120 01 015", {}, at,
                              std::string(16, 'k'), pad));
    answer = p->read();
    ASSERT_TRUE(answer);
    EXPECT_EQ(*answer, dc09::wrap_frame("\"DUH\"0007R1L1#1234[]"));
    // The connection is still usable.
    EXPECT_FALSE(acked_panic(*p, "0008", at).empty());
}

TEST_F(Dc09, LinkTestsKeepThePanelOnlineAndTheirAbsenceTakesItOffline) {
    const std::string desk = make_token("dispatcher", "desk");
    WsClient console(api_port(), certs_->server_ca());
    ASSERT_TRUE(console.connect("/ws/console", desk));
    ASSERT_TRUE(console.read_type("snapshot"));
    auto p = panel();
    const auto link_test = [&](int seq) {
        char s[16];
        std::snprintf(s, sizeof s, "%04d", seq);
        p->send(
            *dc09::make_frame({"NULL", s, "R1", "L1", "1234"}, "", {}, now_micros(), key(), pad));
        auto answer = p->read();
        ASSERT_TRUE(answer) << server().log();
        EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    };
    link_test(1);
    auto online = console.read_type("terminal");
    ASSERT_TRUE(online);
    EXPECT_EQ((*online)["terminal"], "T-D1");
    EXPECT_EQ((*online)["online"], true);
    // Link tests every 0.5 s for 4 s (twice the 2 s supervision window):
    // the panel stays online.
    for (int i = 2; i <= 9; ++i) {
        link_test(i);
        std::this_thread::sleep_for(500ms);  // a panel's link test interval
    }
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_status_events WHERE terminal_id = 'T-D1' "
                          "AND NOT online"),
              "0");
    // Silence: offline.
    auto offline = console.read_type("terminal", 15s);
    ASSERT_TRUE(offline);
    EXPECT_EQ((*offline)["terminal"], "T-D1");
    EXPECT_EQ((*offline)["online"], false);
}

TEST_F(Dc09, PanelsHaveTheirOwnOfflineWindow) {
    // TLS terminals: 90 s; DC-09 panels: offline after 1 s of silence.
    config()["supervision"] = {{"heartbeat_s", 30}, {"missed_heartbeats", 3}};
    config()["dc09_listener"]["offline_after_s"] = 1;
    start_server();
    const std::string desk = make_token("dispatcher", "desk");
    WsClient console(api_port(), certs_->server_ca());
    ASSERT_TRUE(console.connect("/ws/console", desk));
    ASSERT_TRUE(console.read_type("snapshot"));
    auto p = panel(true);
    p->send(link_test_frame(1, key()));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    auto online = console.read_type("terminal");
    ASSERT_TRUE(online);
    EXPECT_EQ((*online)["online"], true);
    auto offline = console.read_type("terminal", 15s);
    ASSERT_TRUE(offline);
    EXPECT_EQ((*offline)["terminal"], "T-D1");
    EXPECT_EQ((*offline)["online"], false);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_status_events WHERE terminal_id = 'T-D1' "
                          "AND NOT online"),
              "1");
}

TEST_F(Dc09, ContactIdCancelIsACancelRequestForTheLatestAlarm) {
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    const std::string incident = acked_panic(*p, "0010", at);
    ASSERT_FALSE(incident.empty());
    p->send(panic_frame("0011", at, "1406"));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    // Committed before the ACK, in the same transaction as the request.
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incident_events WHERE incident_id = $1 AND type = "
                          "'cancel_requested' AND details->>'alarm' = $2",
                          {incident, event_id("0010", at)}),
              "1");
    EXPECT_EQ(
        db_->scalar("SELECT kind FROM terminal_events WHERE event_id = $1", {event_id("0011", at)}),
        "cancel");
}

TEST_F(Dc09, CancelAfterARestartStillFindsTheLatestOpenAlarm) {
    const UnixMicros at = whole_seconds(now_micros());
    std::string incident;
    {
        auto p = panel();
        acked_panic(*p, "0012", at);
        incident = acked_panic(*p, "0013", at);  // a repeat alarm: the latest
        ASSERT_FALSE(incident.empty());
    }
    start_server();  // recovery reads the open incident and its alarms back
    auto p = panel();
    p->send(panic_frame("0014", whole_seconds(now_micros()), "1406"));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    EXPECT_EQ(db_->scalar("SELECT details->>'alarm' FROM incident_events WHERE incident_id = $1 "
                          "AND type = 'cancel_requested'",
                          {incident}),
              event_id("0013", at));
}

TEST_F(Dc09, CancelWithNoOpenAlarmIsAckedAndRecordsNothing) {
    auto p = panel();
    p->send(panic_frame("0016", whole_seconds(now_micros()), "1406"));
    auto answer = p->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events"), "0");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incident_events"), "0");
}

TEST_F(Dc09, RestoresAreRecordedNotDispatchedAndTestsAreSupervisionOnly) {
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    const auto acked = [&](const std::string& seq, const std::string& cid) {
        p->send(panic_frame(seq, at, cid));
        auto answer = p->read();
        ASSERT_TRUE(answer) << server().log();
        EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack) << seq;
    };
    // Test and link test first: the writes of one panel commit in order, so
    // once the restore is in, anything they wrote would be too.
    acked("0071", "1602");  // periodic test report
    p->send(link_test_frame(72, key()));
    ASSERT_TRUE(p->read());
    acked("0070", "3120");  // panic restore
    acked("0070", "3120");  // its retransmission
    // The record is written behind the ACK: wait for it.
    const std::string recorded = "SELECT count(*) FROM dc09_events";
    EXPECT_TRUE(eventually([&] { return db_->scalar(recorded) != "0"; }));
    EXPECT_EQ(db_->scalar("SELECT terminal_id || ' ' || event_id || ' ' || meaning || ' ' || code "
                          "FROM dc09_events"),
              "T-D1 " + event_id("0070", at) + " restore CID 3120 01 015");
    EXPECT_EQ(db_->scalar(recorded), "1");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM incidents"), "0");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events"), "0");
}

TEST_F(Dc09, EveryRefusalIsCountedByItsReason) {
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    std::string bad_crc = panic_frame("0020", at);
    bad_crc[1] = bad_crc[1] == '0' ? '1' : '0';
    p->send(bad_crc);
    ASSERT_TRUE(p->read());
    p->send(*dc09::make_frame({"SIA-DCS", "0021", "", "L0", "9999"}, "#9999|Nri1/PA1", {}, at, "",
                              pad));
    ASSERT_TRUE(p->read());
    p->send(*dc09::make_frame({"ADM-CID", "0022", "R1", "L1", "1234"}, "#1234|1120 01 015", {}, at,
                              std::string(16, 'k'), pad));
    ASSERT_TRUE(p->read());
    p->send(panic_frame("0023", at - 300 * kMicrosPerSecond));
    ASSERT_TRUE(p->read());
    p->send(link_test_frame(24, key()));
    ASSERT_TRUE(p->read());
    EXPECT_EQ(frames_counted("bad_crc"), "1");
    EXPECT_EQ(frames_counted("unknown_account"), "1");
    EXPECT_EQ(frames_counted("undecryptable"), "1");
    EXPECT_EQ(frames_counted("stale_timestamp"), "1");
    EXPECT_EQ(frames_counted("accepted"), "1");
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM terminal_events"), "0");
}

TEST_F(Dc09, OversizedFramesAreDroppedAndCounted) {
    // UDP: an oversized datagram is dropped unanswered; the next one is answered.
    auto udp = panel(true);
    udp->send(std::string(1500, 'x'));
    udp->send(link_test_frame(30, key()));
    auto answer = udp->read();
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).sequence, "0030");
    EXPECT_EQ(frames_counted("too_large"), "1");
    // TCP: no <CR> within max_frame_bytes closes the connection.
    auto tcp = panel();
    tcp->send("\n" + std::string(1500, 'x'));
    EXPECT_TRUE(tcp->closed_by_server());
    EXPECT_EQ(frames_counted("too_large"), "2");
}

TEST_F(Dc09, TenRefusedFramesInARowCloseTheTcpConnectionAfterTheirAnswers) {
    auto p = panel();
    const UnixMicros at = whole_seconds(now_micros());
    // An accepted frame in between resets the count (without it, the fifth
    // of the ten below would be the tenth in a row). 16 frames: within the
    // default burst of max_frames_per_s.
    std::string frames;
    for (int i = 0; i < 5; ++i) {
        frames += *dc09::make_frame({"SIA-DCS", "0060", "", "L0", "9999"}, "#9999|Nri1/PA1", {}, at,
                                    "", pad);
    }
    p->send(frames);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(p->read()) << i;
    p->send(link_test_frame(61, key()));
    ASSERT_EQ(envelope_of(*p->read()).token, dc09::Token::ack);
    std::string bad = panic_frame("0062", at);
    bad[1] = bad[1] == '0' ? '1' : '0';
    std::string ten;
    for (int i = 0; i < 10; ++i) ten += bad;
    p->send(ten);
    for (int i = 0; i < 10; ++i) {
        auto answer = p->read();
        ASSERT_TRUE(answer) << "answer " << i << " missing\n" << server().log();
        EXPECT_EQ(envelope_of(*answer).token, dc09::Token::nak);
    }
    EXPECT_TRUE(p->closed_by_server());
}

TEST_F(Dc09, UdpSenderOverItsRateIsNotAnswered) {
    config()["dc09_listener"]["max_frames_per_s"] = 1;  // burst 2
    start_server();
    auto udp = panel(true);
    for (int i = 1; i <= 6; ++i) udp->send(link_test_frame(40 + i, key()));
    int answered = 0;
    while (udp->read(1s)) ++answered;
    EXPECT_GE(answered, 2);
    EXPECT_LT(answered, 6);
    EXPECT_EQ(frames_counted("over_rate"), std::to_string(6 - answered));
}

TEST_F(Dc09, ConnectionsBeyondTheLimitAreRefusedAndIdleOnesClosed) {
    config()["dc09_listener"]["max_connections"] = 1;
    config()["dc09_listener"]["idle_timeout_s"] = 1;
    start_server();
    auto first = panel();
    first->send(link_test_frame(50, key()));
    ASSERT_TRUE(first->read()) << server().log();
    auto second = panel();  // the kernel accepts it; huxiaod closes it at once
    EXPECT_TRUE(second->closed_by_server());
    // Silent for idle_timeout_s: closed, and its slot is free again.
    EXPECT_TRUE(first->closed_by_server());
    const auto answer = answer_on_a_new_connection(51);
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
}

// One address may hold at most kMaxTcpPerAddress (64) TCP connections; the
// rest are closed at accept and counted, like the other listeners' junk.
TEST_F(Dc09, OneAddressHoldsAtMost64TcpConnections) {
    std::vector<std::unique_ptr<Panel>> held;
    for (int i = 0; i < 64; ++i) held.push_back(panel());
    // Each of the 64 is served (a link test is answered) ...
    held.front()->send(link_test_frame(60, key()));
    ASSERT_TRUE(held.front()->read()) << server().log();
    held.back()->send(link_test_frame(61, key()));
    ASSERT_TRUE(held.back()->read()) << server().log();
    // ... the 65th is closed at once.
    auto extra = panel();
    EXPECT_TRUE(extra->closed_by_server());
    EXPECT_EQ(metric("huxiao_connections_refused_total{listener=\"dc09\",cause=\"per_address\"}"),
              "1");
    EXPECT_EQ(metric("huxiao_connections{listener=\"dc09\",state=\"unauthenticated\"}"), "64");
    // A place freed is a place to take.
    held.pop_back();
    const auto answer = answer_on_a_new_connection(62);
    ASSERT_TRUE(answer) << server().log();
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
}

TEST_F(Dc09, KeysComeInThroughTheAdminApiAndNeverGoOut) {
    const std::string admin = make_token("admin", "root");
    const std::string key_hex = "00112233445566778899AABBCCDDEEFF";
    auto put = https_request(
        api_port(), certs_->server_ca(), "PUT", "/api/v1/terminals/T-2", admin,
        json{{"school", "S-2"}, {"dc09", {{"account", "ABC"}, {"key_hex", key_hex}}}}.dump());
    ASSERT_EQ(put.status, 200) << put.body;
    // The receiver knows the account once the registry has reloaded.
    auto p = panel();
    const std::string raw_key = *dc09::from_hex(key_hex);
    std::optional<std::string> answer;
    EXPECT_TRUE(eventually(
        [&] {  // the reload runs behind the PUT
            p->send(*dc09::make_frame({"NULL", "0001", "", "L0", "ABC"}, "", {}, now_micros(),
                                      raw_key, pad));
            answer = p->read();
            return answer && envelope_of(*answer).token == dc09::Token::ack;
        },
        30s));
    ASSERT_TRUE(answer);
    EXPECT_EQ(envelope_of(*answer).token, dc09::Token::ack);
    // A second terminal cannot take the same account.
    auto taken =
        https_request(api_port(), certs_->server_ca(), "PUT", "/api/v1/terminals/T-1B", admin,
                      json{{"school", "S-1"}, {"dc09", {{"account", "ABC"}}}}.dump());
    EXPECT_EQ(taken.status, 409) << taken.body;
    // No read of the API returns a key.
    const std::string desk = make_token("dispatcher", "desk");
    for (const char* target : {"/api/v1/terminals", "/api/v1/terminals?status=online"}) {
        auto listed = get(target, desk);
        ASSERT_EQ(listed.status, 200) << listed.body;
        EXPECT_EQ(listed.body.find(key_hex), std::string::npos);
        EXPECT_EQ(listed.body.find(kKeyHex), std::string::npos);
    }
    auto as_admin =
        https_request(api_port(), certs_->server_ca(), "GET", "/api/v1/terminals", admin);
    EXPECT_EQ(as_admin.body.find(key_hex), std::string::npos);
}

// The database goes away: no ACK (the panel retries), and the alarm is
// recorded once when it is back.
TEST(Dc09Outage, NoAckWhileTheDatabaseIsDownAndNothingLostWhenItReturns) {
    ThrowawayCluster cluster;
    const auto dir = make_temp_dir("huxiao-dc09-outage");
    CertFactory certs(dir / "certs");
    json config = test_config(cluster.url(), certs);
    config["database"]["alarm_commit_timeout_ms"] = 1000;
    // Retransmissions keep their first timestamp; allow for the outage.
    config["dc09_listener"] = {{"enabled", true},
                               {"address", "127.0.0.1"},
                               {"port", 0},
                               {"max_skew_s", {{"future", 20}, {"past", 600}}}};
    std::ofstream(dir / "huxiao.json") << config.dump(2);
    std::ofstream(dir / "registry.json") << kSmallRegistry;
    std::ofstream(dir / "dc09.json") << kDc09Terminals;
    for (const char* file : {"registry.json", "dc09.json"}) {
        auto imported = run_huxiaod(
            {"import", "--config", (dir / "huxiao.json").string(), (dir / file).string()});
        ASSERT_EQ(imported.status, 0) << imported.err;
    }
    ServerProcess server(config, dir / "server");
    Panel p(server.dc09_port(), false);
    const UnixMicros first_at = whole_seconds(now_micros());
    p.send(panic_frame("0001", first_at));
    auto first = p.read();
    ASSERT_TRUE(first) << server.log();
    ASSERT_EQ(envelope_of(*first).token, dc09::Token::ack);

    cluster.stop();
    const UnixMicros at = whole_seconds(now_micros());
    const std::string frame = panic_frame("0002", at, "1130");
    p.send(frame);
    // Not durable: no answer at all (alarm_commit_timeout_ms is 1 s).
    EXPECT_FALSE(p.read(3s)) << "answered while the database was down";

    cluster.start();
    std::optional<std::string> ack;
    for (int attempt = 0; attempt < 60 && !ack; ++attempt) {
        p.send(frame);  // the panel's retransmission
        auto answer = p.read(3s);
        if (answer) {
            ASSERT_EQ(envelope_of(*answer).token, dc09::Token::ack) << *answer;
            ack = answer;
        }
    }
    ASSERT_TRUE(ack) << server.log();
    db::PgSync c(cluster.url());
    const auto count = [&](const std::string& sql) {
        auto r = c.exec(sql);
        return db::cell(r.get(), 0, 0);
    };
    EXPECT_EQ(count("SELECT count(*) FROM terminal_events WHERE event_id = '" +
                    event_id("0002", at) + "'"),
              "1");
    EXPECT_EQ(count("SELECT count(*) FROM terminal_events WHERE terminal_id = 'T-D1'"), "2");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace huxiao::test
