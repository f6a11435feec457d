// TLS policy of both listeners (issue #8 item 9, review H7 and L2): TLS 1.2
// at least, sessions of a mutually authenticated terminal resume over TLS 1.2
// (session cache) and TLS 1.3 (tickets), and a configured ticket key lets a
// restarted (or standby) server resume them too.
#include <openssl/ssl.h>

#include <fstream>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

class TlsPolicy : public ServerTest {
  protected:
    // A first connection of T-1 with `configure` applied; its session.
    template <typename F>
    std::string first_session(F configure) {
        auto t = client("T-1");
        configure(*t);
        t->connect_and_hello("T-1");
        // TLS 1.3 tickets arrive after the handshake: a round trip reads them.
        t->send({{"type", "heartbeat"}, {"seq", 1}});
        EXPECT_TRUE(t->read_frame_of_type("heartbeat_ack"));
        EXPECT_FALSE(t->resumed());
        return t->session();
    }
};

TEST_F(TlsPolicy, TerminalResumesATls12SessionFromTheSessionCache) {
    start_server();
    const auto tls12_no_tickets = [](TerminalClient& t) {
        t.set_tls_versions(TLS1_2_VERSION, TLS1_2_VERSION);
        t.disable_session_tickets();
    };
    const std::string session = first_session(tls12_no_tickets);
    ASSERT_FALSE(session.empty());

    auto again = client("T-1");
    tls12_no_tickets(*again);
    again->resume(session);
    std::string error;
    ASSERT_TRUE(again->connect(&error)) << error;
    EXPECT_TRUE(again->resumed());
    EXPECT_EQ(again->protocol(), "TLSv1.2");
    // The resumed session still carries the certificate's identity.
    again->send({{"type", "hello"}, {"terminal", "T-1"}, {"proto", 1}});
    auto welcome = again->read_frame();
    ASSERT_TRUE(welcome);
    EXPECT_EQ((*welcome)["type"], "welcome") << welcome->dump();
}

TEST_F(TlsPolicy, TerminalResumesATls13SessionWithATicket) {
    start_server();
    const auto tls13 = [](TerminalClient& t) { t.set_tls_versions(TLS1_3_VERSION, 0); };
    const std::string session = first_session(tls13);
    ASSERT_FALSE(session.empty());

    auto again = client("T-1");
    tls13(*again);
    again->resume(session);
    std::string error;
    ASSERT_TRUE(again->connect(&error)) << error;
    EXPECT_TRUE(again->resumed());
    EXPECT_EQ(again->protocol(), "TLSv1.3");
    again->send({{"type", "hello"}, {"terminal", "T-1"}, {"proto", 1}});
    auto welcome = again->read_frame();
    ASSERT_TRUE(welcome);
    EXPECT_EQ((*welcome)["type"], "welcome") << welcome->dump();
}

TEST_F(TlsPolicy, Tls11IsRefusedOnBothListeners) {
    start_server();
    for (int listener : {port(), api_port()}) {
        TerminalClient old(listener, &terminal_certs_.at("T-1"), certs_->server_ca());
        old.allow_legacy_tls();
        old.set_tls_versions(TLS1_1_VERSION, TLS1_1_VERSION);
        std::string error;
        EXPECT_FALSE(old.connect(&error)) << "port " << listener;
        // The server's alert, not the client refusing to offer TLS 1.1.
        EXPECT_NE(error.find("protocol version"), std::string::npos) << error;

        // The same client offering TLS 1.2 gets in.
        TerminalClient current(listener, &terminal_certs_.at("T-1"), certs_->server_ca());
        current.allow_legacy_tls();
        current.set_tls_versions(TLS1_1_VERSION, TLS1_2_VERSION);
        EXPECT_TRUE(current.connect(&error)) << error;
        EXPECT_EQ(current.protocol(), "TLSv1.2");
    }
}

TEST_F(TlsPolicy, ASharedTicketKeyResumesSessionsAcrossARestart) {
    const auto key = dir_ / "ticket.key";
    {
        std::ofstream out(key, std::ios::binary);
        for (int i = 0; i < 80; ++i) out.put(static_cast<char>(i * 7 + 3));
    }
    config()["terminal_listener"]["session_ticket_key"] = key.string();
    start_server();
    const auto tls13 = [](TerminalClient& t) { t.set_tls_versions(TLS1_3_VERSION, 0); };
    const std::string session = first_session(tls13);
    ASSERT_FALSE(session.empty());

    start_server();  // a new process: only the key file is shared
    auto again = client("T-1");
    tls13(*again);
    again->resume(session);
    std::string error;
    ASSERT_TRUE(again->connect(&error)) << error;
    EXPECT_TRUE(again->resumed());
}

TEST_F(TlsPolicy, ABadTicketKeyFileIsAStartUpErrorNamingTheKey) {
    const auto key = dir_ / "short.key";
    std::ofstream(key, std::ios::binary) << "too short";
    config()["terminal_listener"]["session_ticket_key"] = key.string();
    std::ofstream(dir_ / "bad-key.json") << config().dump(2);
    auto r = run_huxiaod({"serve", "--config", (dir_ / "bad-key.json").string()});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("terminal_listener.session_ticket_key"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("exactly 80"), std::string::npos) << r.err;

    config()["terminal_listener"]["session_ticket_key"] = (dir_ / "missing.key").string();
    std::ofstream(dir_ / "missing-key.json") << config().dump(2);
    r = run_huxiaod({"serve", "--config", (dir_ / "missing-key.json").string()});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("cannot read the session ticket key"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace huxiao::test
