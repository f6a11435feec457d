// How huxiao-sim's terminals reconnect, as docs/terminals.md recommends to
// vendors: several server addresses tried in turn with back-off and jitter
// (the first one here is dead), and the TLS session of the last connection
// offered again, so that a server restarted with the same ticket key resumes
// it instead of paying for a full handshake. Real huxiaod, PostgreSQL and
// huxiao-sim on loopback.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "server/sessions/tls.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/sim_process.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// Binds `fd` to an ephemeral loopback port and returns the port.
int bind_loopback(int fd) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

// A loopback port nothing listens on: connections to it are refused.
int dead_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int port = bind_loopback(fd);
    ::close(fd);
    return port;
}

// A TLS server with huxiaod's certificate, terminal CA and ticket key that
// completes each handshake (resuming what it can), sends no session ticket
// and closes without a word: the terminal's attempt ends after a resumed
// handshake but before a `welcome`, as when a busy server gives up on it.
class HangingUpServer {
  public:
    HangingUpServer(const CertFactory& certs, const std::filesystem::path& ticket_key)
        : ctx_(huxiao::make_server_tls(certs.server_cert(), certs.server_key(), certs.terminal_ca(),
                                       huxiao::TlsOptions{"ticket", ticket_key})) {
        SSL_CTX_set_num_tickets(ctx_.native_handle(), 0);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        port_ = bind_loopback(fd_);
        ::listen(fd_, 16);
        thread_ = std::thread([this] {
            for (;;) {
                const int client = ::accept(fd_, nullptr, nullptr);
                if (client < 0) return;
                timeval wait{5, 0};
                ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
                SSL* ssl = SSL_new(ctx_.native_handle());
                SSL_set_fd(ssl, client);
                if (SSL_accept(ssl) == 1) {
                    ++handshakes_;
                    if (SSL_session_reused(ssl) == 1) ++resumed_;
                }
                SSL_free(ssl);
                ::close(client);
            }
        });
    }
    ~HangingUpServer() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }
    int handshakes() const { return handshakes_.load(); }
    int resumed() const { return resumed_.load(); }

  private:
    boost::asio::ssl::context ctx_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::atomic<int> handshakes_{0};
    std::atomic<int> resumed_{0};
};

class SimReconnect : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        // One ticket key for the server before and after its restart.
        std::mt19937_64 rng(std::random_device{}());
        std::string key;
        for (int i = 0; i < 80; ++i) key += static_cast<char>(rng() & 0xff);
        std::ofstream(dir_ / "ticket.key", std::ios::binary) << key;
        config()["terminal_listener"]["session_ticket_key"] = (dir_ / "ticket.key").string();
        start_server();
        // The restarted server must come back on the same ports.
        config()["terminal_listener"]["port"] = port();
        config()["api_listener"]["port"] = api_port();

        // The simulator's view: terminal T-1 only, certificates in the
        // layout of config/dev-certs.sh.
        json registry = json::parse(kSmallRegistry);
        registry["terminals"] = json::array({registry["terminals"][0]});
        registry["units"] = json::array();
        registry["guard_posts"] = json::array();
        std::ofstream(dir_ / "sim-registry.json") << registry.dump();
        const auto certs = dir_ / "sim-certs";
        std::filesystem::create_directories(certs / "terminals");
        std::filesystem::copy_file(certs_->server_ca(), certs / "server-ca.crt");
        std::filesystem::copy_file(terminal_certs_.at("T-1").cert, certs / "terminals" / "T-1.crt");
        std::filesystem::copy_file(terminal_certs_.at("T-1").key, certs / "terminals" / "T-1.key");
        std::ofstream(dir_ / "sim.json") << config().dump(2);
    }

    // The server's log lines (kept across the restart) that say T-1 was
    // welcomed, once there are `count` of them: polled for up to 60 s, since
    // after a restart the terminal may be several back-off windows (1, 2, 4,
    // 8 s) away.
    std::vector<std::string> welcomes(std::size_t count) {
        std::vector<std::string> lines;
        eventually(
            [&] {
                lines.clear();
                std::istringstream log(server().log());
                for (std::string line; std::getline(log, line);) {
                    if (line.find("T-1 online from") != std::string::npos) lines.push_back(line);
                }
                return lines.size() >= count;
            },
            std::chrono::seconds(60), std::chrono::milliseconds(100));
        return lines;
    }
    std::string sim_log() {
        std::ifstream in(dir_ / "sim.log");
        return {std::istreambuf_iterator<char>(in), {}};
    }
    // huxiao-sim with two servers, `first_terminal_port` (API port: a dead
    // one) first and this test's huxiaod second.
    SimProcess start_sim(int first_terminal_port) {
        const std::string first =
            "127.0.0.1:" + std::to_string(first_terminal_port) + ":" + std::to_string(dead_port());
        const std::string live =
            "127.0.0.1:" + std::to_string(port()) + ":" + std::to_string(api_port());
        return SimProcess(
            {"--config", (dir_ / "sim.json").string(), "--certs", (dir_ / "sim-certs").string(),
             "--registry", (dir_ / "sim-registry.json").string(), "--alarm-every", "86400",
             "--seed", "9", "--server", first, "--server", live},
            dir_ / "sim.log");
    }
};

TEST_F(SimReconnect, TerminalsTryTheNextAddressAndResumeTheirTlsSessionAfterARestart) {
    SimProcess sim = start_sim(dead_port());
    // The dead address is tried first; the terminal moves on to the live one.
    const auto first = welcomes(1);
    ASSERT_EQ(first.size(), 1u) << sim_log();
    EXPECT_EQ(first[0].find("(session resumed)"), std::string::npos) << first[0];

    ASSERT_EQ(server().terminate(), 0);
    start_server();
    ASSERT_EQ(port(), config()["terminal_listener"]["port"].get<int>());
    // Back, with the session of the first connection: the restarted server
    // has the same ticket key and resumes it.
    const auto both = welcomes(2);
    ASSERT_EQ(both.size(), 2u) << sim_log() << server().log();
    EXPECT_NE(both[1].find("(session resumed)"), std::string::npos) << both[1];
    EXPECT_EQ(sim.stop(), 0) << sim_log();
}

// A terminal must keep its stored session when an attempt that offered it
// fails: OpenSSL marks the session of a connection that ends without a
// close_notify as not resumable, and if that is the stored session itself,
// every later attempt needs a full handshake (docs/terminals.md). After the
// restart the terminal's first attempt goes to a server that resumes its
// session and hangs up; the next one, to huxiaod, must resume it still.
TEST_F(SimReconnect, AnAttemptThatEndsBeforeTheWelcomeDoesNotCostTheSession) {
    HangingUpServer hangs_up(*certs_, dir_ / "ticket.key");
    SimProcess sim = start_sim(hangs_up.port());
    // First the hanging-up server (a full handshake, no welcome), then huxiaod.
    const auto first = welcomes(1);
    ASSERT_EQ(first.size(), 1u) << sim_log();
    EXPECT_GE(hangs_up.handshakes(), 1) << sim_log();
    EXPECT_EQ(hangs_up.resumed(), 0);

    ASSERT_EQ(server().terminate(), 0);
    start_server();
    const auto both = welcomes(2);
    ASSERT_EQ(both.size(), 2u) << sim_log() << server().log();
    // The lost connection moved the terminal on to the hanging-up server,
    // which resumed its session and hung up; huxiaod resumed it again.
    EXPECT_GE(hangs_up.resumed(), 1) << sim_log();
    EXPECT_NE(both[1].find("(session resumed)"), std::string::npos) << both[1] << sim_log();
    EXPECT_EQ(sim.stop(), 0) << sim_log();
}

}  // namespace
}  // namespace huxiao::test
