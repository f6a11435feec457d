// Reload without restart (issue #16 item 5): SIGHUP and POST
// /api/v1/admin/reload read the configuration file again; new certificates
// serve new connections while connected terminals stay, and a bad file is
// refused with a log line naming the problem while the old settings stay.
#include <signal.h>

#include <fstream>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

class ConfigReload : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
    }
    // The fingerprint of the certificate a new connection to `listener_port` sees.
    std::string served_fingerprint(int listener_port) {
        TerminalClient probe(listener_port, &terminal_certs_.at("T-1"), certs_->server_ca());
        std::string error;
        if (!probe.connect(&error)) return "no connection: " + error;
        return probe.server_fingerprint();
    }
    void sighup() { ASSERT_EQ(::kill(server().pid(), SIGHUP), 0); }
    HttpReply reload(const std::string& token) {
        return https_request(api_port(), certs_->server_ca(), "POST", "/api/v1/admin/reload",
                             token);
    }
    // Writes the configuration file the server was started from.
    void write_config(const json& config) {
        std::ofstream(dir_ / "server" / "huxiao.json") << config.dump(2);
    }
};

TEST_F(ConfigReload, SighupRotatesTheCertificatesAndConnectedTerminalsStay) {
    auto connected = hello("T-1");
    const std::string before = CertFactory::fingerprint(certs_->server_cert());
    ASSERT_EQ(served_fingerprint(port()), before);

    certs_->renew_server_certificate();
    const std::string after = CertFactory::fingerprint(certs_->server_cert());
    ASSERT_NE(after, before);
    sighup();

    EXPECT_TRUE(eventually([&] { return served_fingerprint(port()) == after; }));
    EXPECT_TRUE(eventually([&] { return served_fingerprint(api_port()) == after; }));
    EXPECT_NE(server().log().find("reloaded"), std::string::npos) << server().log();
    // The terminal connected before the rotation was not dropped: it beats
    // and raises an alarm on its old TLS session.
    connected->send({{"type", "heartbeat"}, {"seq", 7}});
    EXPECT_TRUE(connected->read_frame_of_type("heartbeat_ack"));
    connected->send({{"type", "alarm"}, {"id", "A-after-rotation"}, {"kind", "intrusion"}});
    auto ack = connected->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    EXPECT_EQ((*ack)["id"], "A-after-rotation");
    // And a terminal connecting now is welcomed under the new certificate.
    auto fresh = hello("T-2");
    EXPECT_EQ(fresh->server_fingerprint(), after);
}

TEST_F(ConfigReload, AKeyThatDoesNotLoadIsRefusedAndTheOldCertificateStays) {
    const std::string before = CertFactory::fingerprint(certs_->server_cert());
    certs_->renew_server_certificate();
    std::ofstream(certs_->server_key()) << "-----BEGIN PRIVATE KEY-----\nbroken\n";
    sighup();

    EXPECT_TRUE(eventually([&] {
        return server().log().find(
                   "reload after SIGHUP refused: terminal_listener: cannot use "
                   "private key " +
                   certs_->server_key().string()) != std::string::npos;
    })) << server().log();
    EXPECT_EQ(served_fingerprint(port()), before);
    EXPECT_EQ(served_fingerprint(api_port()), before);
    EXPECT_TRUE(hello("T-2"));
}

TEST_F(ConfigReload, AnExpiredCertificateIsRefusedByTheAdminEndpoint) {
    const std::string admin = make_token("admin", "ops");
    const std::string before = CertFactory::fingerprint(certs_->server_cert());
    certs_->renew_server_certificate(/*expired=*/true);

    const auto reply = reload(admin);
    EXPECT_EQ(reply.status, 422) << reply.body;
    const json body = reply.json();
    EXPECT_EQ(body["error"], "invalid_config") << reply.body;
    EXPECT_EQ(body["message"],
              "terminal_listener.cert: " + certs_->server_cert().string() + " has expired");
    EXPECT_EQ(served_fingerprint(port()), before);
}

TEST_F(ConfigReload, TheAdminEndpointAppliesLiveKeysAndNamesTheRest) {
    const std::string admin = make_token("admin", "ops");
    const std::string dispatcher = make_token("dispatcher", "desk");
    json changed = config();
    changed["dispatch"]["offer_timeout_s"] = 45;
    changed["log"]["level"] = "warn";
    write_config(changed);

    EXPECT_EQ(reload(dispatcher).status, 403);
    const auto reply = reload(admin);
    ASSERT_EQ(reply.status, 200) << reply.body;
    const json body = reply.json();
    EXPECT_EQ(body["restart_required"], json::array({"dispatch"})) << reply.body;
    ASSERT_TRUE(body["reloaded"].is_array()) << reply.body;
    EXPECT_NE(reply.body.find("terminal_listener certificate: /O=huxiao tests/CN=localhost"),
              std::string::npos)
        << reply.body;
    EXPECT_NE(reply.body.find("log: level warn"), std::string::npos) << reply.body;
    EXPECT_NE(server().log().find("changes keys of dispatch that take effect only after a restart"),
              std::string::npos)
        << server().log();
}

TEST_F(ConfigReload, AFileThatDoesNotParseIsRefusedNamingTheKey) {
    const std::string admin = make_token("admin", "ops");
    json broken = config();
    broken["dispatch"]["offer_timeout"] = 45;  // a typo of offer_timeout_s
    write_config(broken);

    const auto reply = reload(admin);
    EXPECT_EQ(reply.status, 422) << reply.body;
    EXPECT_NE(reply.json()["message"].get<std::string>().find("dispatch.offer_timeout"),
              std::string::npos)
        << reply.body;
    // Still serving, with the settings it had.
    EXPECT_TRUE(hello("T-1"));
    EXPECT_EQ(reload("").status, 401);
}

}  // namespace
}  // namespace huxiao::test
