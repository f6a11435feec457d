// How huxiao-sim's terminals reconnect, as docs/terminals.md recommends to
// vendors: several server addresses tried in turn with back-off and jitter
// (the first one here is dead), and the TLS session of the last connection
// offered again, so that a server restarted with the same ticket key resumes
// it instead of paying for a full handshake. Real huxiaod, PostgreSQL and
// huxiao-sim on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/fixtures.hpp"
#include "tests/support/sim_process.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// A loopback port nothing listens on: connections to it are refused.
int dead_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

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
};

TEST_F(SimReconnect, TerminalsTryTheNextAddressAndResumeTheirTlsSessionAfterARestart) {
    const std::string dead =
        "127.0.0.1:" + std::to_string(dead_port()) + ":" + std::to_string(dead_port());
    const std::string live =
        "127.0.0.1:" + std::to_string(port()) + ":" + std::to_string(api_port());
    SimProcess sim(
        {"--config", (dir_ / "sim.json").string(), "--certs", (dir_ / "sim-certs").string(),
         "--registry", (dir_ / "sim-registry.json").string(), "--alarm-every", "86400", "--seed",
         "9", "--server", dead, "--server", live},
        dir_ / "sim.log");
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

}  // namespace
}  // namespace huxiao::test
