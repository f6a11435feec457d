// No slot is held before authentication (issue #8 item 2, review H2, H3, M6):
// per-address and overall caps on connections that have not authenticated,
// deadlines for each stage before authentication, a separate budget for
// authenticated connections, one session per terminal certificate, an
// accept loop that survives running out of file descriptors, and the bounded
// waiting room for a handshake place (issue #11). Real server,
// real TLS; the junk comes from 127.0.0.2, the real clients from 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;

// A plain TCP connection from `from` that sends nothing.
class JunkConnection {
  public:
    JunkConnection(int port, const char* from = "127.0.0.2") {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, from, &local.sin_addr);
        sockaddr_in remote{};
        remote.sin_family = AF_INET;
        remote.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
        connected_ = fd_ >= 0 &&
                     ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
                     ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0;
    }
    ~JunkConnection() {
        if (fd_ >= 0) ::close(fd_);
    }
    JunkConnection(const JunkConnection&) = delete;
    JunkConnection& operator=(const JunkConnection&) = delete;
    bool connected() const { return connected_; }
    bool send(const std::string& bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(bytes.size());
    }
    // True when the server closes the connection within `timeout`.
    bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        do {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, timeout.count() > 0 ? 100 : 0) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return true;  // EOF or reset
        } while (std::chrono::steady_clock::now() < until);
        return false;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
};

class ConnectionLimits : public ServerTest {
  protected:
    // The value of one series of /metrics, e.g.
    // huxiao_connections_refused_total{listener="api",cause="per_address"}.
    double metric(const std::string& series) {
        auto reply = get("/metrics", "");
        EXPECT_EQ(reply.status, 200);
        const std::string needle = "\n" + series + " ";
        const auto at = reply.body.find(needle);
        if (at == std::string::npos) {
            ADD_FAILURE() << series << " not in /metrics:\n" << reply.body;
            return -1;
        }
        return std::stod(reply.body.substr(at + needle.size()));
    }
    static std::string series(const std::string& family, const std::string& listener,
                              const std::string& label, const std::string& value) {
        return family + "{listener=\"" + listener + "\"," + label + "=\"" + value + "\"}";
    }
    // Polls /metrics until `series` shows `value` (the server acts on its own
    // threads); the value last seen.
    double metric_reaches(const std::string& series, double value) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        double seen = metric(series);
        while (seen != value && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            seen = metric(series);
        }
        return seen;
    }
    std::string waiting() const {
        return series("huxiao_connections", "terminal", "state", "waiting");
    }
};

TEST_F(ConnectionLimits, JunkPastThePerAddressCapIsRefusedWhileRealClientsGetIn) {
    for (const char* l : {"terminal_listener", "api_listener"}) {
        config()[l]["max_unauthenticated_per_address"] = 3;
        config()[l]["handshake_timeout_s"] = 60;  // the junk stays for the whole test
    }
    config()["terminal_listener"]["max_waiting"] = 0;  // refused at accept, not waiting
    start_server();
    const std::string unit_token = make_token("unit", "patrol-1", "P-1");
    const std::string console_token = make_token("dispatcher", "desk");
    std::vector<std::unique_ptr<JunkConnection>> held;
    for (int listener : {port(), api_port()}) {
        for (int i = 0; i < 3; ++i) {
            held.push_back(std::make_unique<JunkConnection>(listener));
            ASSERT_TRUE(held.back()->connected());
        }
        for (int i = 0; i < 2; ++i) {
            JunkConnection refused(listener);
            ASSERT_TRUE(refused.connected());
            EXPECT_TRUE(refused.closed_by_server()) << "port " << listener;
        }
    }
    // Real clients from another address are not affected: a unit on duty, a
    // console, a terminal's alarm acked and offered.
    WsClient unit(api_port(), certs_->server_ca());
    ASSERT_TRUE(unit.connect("/ws/unit", unit_token));
    ASSERT_TRUE(unit.read_type("welcome"));
    unit.send(
        {{"type", "position"}, {"lat", 30.59}, {"lon", 114.30}, {"at", "2026-09-01T07:30:00Z"}});
    unit.send({{"type", "availability"}, {"status", "available"}});
    // Answered in order: once this is refused, the two above are in effect.
    unit.send({{"type", "arrived"}, {"incident", "I-sync"}});
    ASSERT_TRUE(unit.read_type("error"));
    WsClient console(api_port(), certs_->server_ca());
    ASSERT_TRUE(console.connect("/ws/console", console_token));
    ASSERT_TRUE(console.read_type("snapshot"));
    auto terminal = hello("T-1");
    terminal->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "fire"}});
    auto ack = terminal->read_frame_of_type("ack");
    ASSERT_TRUE(ack);
    auto offer = unit.read_type("offer");
    ASSERT_TRUE(offer);
    EXPECT_EQ((*offer)["incident"], (*ack)["incident"]);
    auto event = console.read_type("event");
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["incident"], (*ack)["incident"]);
    EXPECT_EQ(get("/healthz", "").status, 200);
    // The held junk is still open: nothing closed it early.
    for (auto& j : held) EXPECT_FALSE(j->closed_by_server(std::chrono::milliseconds(0)));
    EXPECT_EQ(
        metric(series("huxiao_connections_refused_total", "terminal", "cause", "per_address")), 2);
    EXPECT_EQ(metric(series("huxiao_connections_refused_total", "api", "cause", "per_address")), 2);
}

// The waiting room (common/util/waiting_room.hpp): past the per-address
// budget a terminal waits for a place instead of being closed at accept, and
// gets its handshake as soon as one frees.
TEST_F(ConnectionLimits, PastTheBudgetATerminalWaitsForAPlaceAndGetsInWhenOneFrees) {
    config()["terminal_listener"]["max_unauthenticated_per_address"] = 2;
    config()["terminal_listener"]["handshake_timeout_s"] = 30;  // the junk stays until closed
    start_server();
    // The terminal connects from 127.0.0.1, as the junk holding both places.
    auto junk1 = std::make_unique<JunkConnection>(port(), "127.0.0.1");
    JunkConnection junk2(port(), "127.0.0.1");
    ASSERT_TRUE(junk1->connected() && junk2.connected());
    ASSERT_EQ(
        metric_reaches(series("huxiao_connections", "terminal", "state", "unauthenticated"), 2), 2);
    auto terminal = client("T-1");
    auto connected = std::async(std::launch::async, [&] { return terminal->connect(); });
    EXPECT_EQ(metric_reaches(waiting(), 1), 1);
    EXPECT_EQ(metric("huxiao_connections_waited_total{listener=\"terminal\"}"), 1);
    junk1.reset();  // a place frees: the terminal's handshake starts
    ASSERT_TRUE(connected.get());
    terminal->send({{"type", "hello"}, {"terminal", "T-1"}, {"proto", 1}});
    auto welcome = terminal->read_frame();
    ASSERT_TRUE(welcome);
    EXPECT_EQ((*welcome)["type"], "welcome");
    EXPECT_EQ(metric(waiting()), 0);
    EXPECT_EQ(
        metric(series("huxiao_connections_refused_total", "terminal", "cause", "per_address")), 0);
    EXPECT_FALSE(junk2.closed_by_server(std::chrono::milliseconds(0)));
}

TEST_F(ConnectionLimits, TheWaitingRoomIsBoundedOverallAndPerAddress) {
    config()["terminal_listener"]["max_unauthenticated_per_address"] = 1;
    config()["terminal_listener"]["handshake_timeout_s"] = 60;  // nobody's wait runs out here
    config()["terminal_listener"]["max_waiting"] = 2;
    config()["terminal_listener"]["max_waiting_per_address"] = 1;
    start_server();
    const auto per_address =
        series("huxiao_connections_refused_total", "terminal", "cause", "per_address");
    // 127.0.0.2 and 127.0.0.3 each hold their one place; one more from each waits.
    std::vector<std::unique_ptr<JunkConnection>> held;
    for (const char* from : {"127.0.0.2", "127.0.0.3"}) {
        held.push_back(std::make_unique<JunkConnection>(port(), from));
        ASSERT_TRUE(held.back()->connected());
    }
    ASSERT_EQ(
        metric_reaches(series("huxiao_connections", "terminal", "state", "unauthenticated"), 2), 2);
    JunkConnection waits2(port(), "127.0.0.2");
    ASSERT_EQ(metric_reaches(waiting(), 1), 1);
    // A second one from the same address: past max_waiting_per_address.
    JunkConnection refused2(port(), "127.0.0.2");
    EXPECT_TRUE(refused2.closed_by_server());
    EXPECT_EQ(metric(per_address), 1);
    JunkConnection waits3(port(), "127.0.0.3");
    ASSERT_EQ(metric_reaches(waiting(), 2), 2);
    // The room is full: 127.0.0.4 waits neither, and its own place is free,
    // so it gets that place at once rather than being refused.
    JunkConnection gets_in(port(), "127.0.0.4");
    ASSERT_EQ(
        metric_reaches(series("huxiao_connections", "terminal", "state", "unauthenticated"), 3), 3);
    // With its place taken, the next from 127.0.0.4 finds the room full.
    JunkConnection refused4(port(), "127.0.0.4");
    EXPECT_TRUE(refused4.closed_by_server());
    EXPECT_EQ(metric(per_address), 2);
    EXPECT_EQ(metric(waiting()), 2);
    EXPECT_FALSE(waits2.closed_by_server(std::chrono::milliseconds(0)));
    EXPECT_FALSE(waits3.closed_by_server(std::chrono::milliseconds(0)));
    EXPECT_EQ(metric("huxiao_connections_waited_total{listener=\"terminal\"}"), 2);
}

TEST_F(ConnectionLimits, AConnectionWhoseWaitRunsOutIsClosed) {
    config()["terminal_listener"]["max_unauthenticated_per_address"] = 1;
    config()["terminal_listener"]["handshake_timeout_s"] = 1;  // also the longest wait
    config()["terminal_listener"]["hello_timeout_s"] = 60;
    start_server();
    // A terminal past its handshake, not yet sending hello, holds the place of
    // 127.0.0.1 for hello_timeout_s.
    auto holder = client("T-1");
    ASSERT_TRUE(holder->connect());
    JunkConnection waits(port(), "127.0.0.1");
    ASSERT_TRUE(waits.connected());
    EXPECT_TRUE(waits.closed_by_server());
    EXPECT_EQ(metric(series("huxiao_connections_timed_out_total", "terminal", "stage", "waiting")),
              1);
    // It never began a handshake, so none timed out.
    EXPECT_EQ(
        metric(series("huxiao_connections_timed_out_total", "terminal", "stage", "handshake")), 0);
    EXPECT_EQ(metric(waiting()), 0);
    EXPECT_FALSE(holder->wait_closed(std::chrono::milliseconds(0)));
}

TEST_F(ConnectionLimits, ConnectionsThatSendNothingAreClosedAfterTheHandshakeDeadline) {
    for (const char* l : {"terminal_listener", "api_listener"})
        config()[l]["handshake_timeout_s"] = 1;
    start_server();
    JunkConnection terminal_junk(port());
    JunkConnection api_junk(api_port());
    ASSERT_TRUE(terminal_junk.connected());
    ASSERT_TRUE(api_junk.connected());
    EXPECT_TRUE(terminal_junk.closed_by_server());
    EXPECT_TRUE(api_junk.closed_by_server());
    EXPECT_EQ(
        metric(series("huxiao_connections_timed_out_total", "terminal", "stage", "handshake")), 1);
    EXPECT_EQ(metric(series("huxiao_connections_timed_out_total", "api", "stage", "handshake")), 1);
}

TEST_F(ConnectionLimits, SlowHeadersAndIdleKeepAliveAreClosed) {
    config()["api_listener"]["header_timeout_s"] = 1;
    config()["api_listener"]["idle_timeout_s"] = 1;
    start_server();
    // Headers that never end (slowloris): closed after header_timeout_s.
    TerminalClient slow(api_port(), nullptr, certs_->server_ca());
    ASSERT_TRUE(slow.connect());
    ASSERT_TRUE(slow.send_raw("GET /healthz HTTP/1.1\r\nHost: huxiao\r\n"));
    EXPECT_TRUE(slow.wait_closed(std::chrono::seconds(15)));
    // A complete request is answered; the idle connection is closed afterwards.
    TerminalClient idle(api_port(), nullptr, certs_->server_ca());
    ASSERT_TRUE(idle.connect());
    ASSERT_TRUE(idle.send_raw("GET /healthz HTTP/1.1\r\nHost: huxiao\r\n\r\n"));
    EXPECT_TRUE(idle.wait_closed(std::chrono::seconds(15)));
    EXPECT_EQ(metric(series("huxiao_connections_timed_out_total", "api", "stage", "header")), 1);
    EXPECT_EQ(metric(series("huxiao_connections_timed_out_total", "api", "stage", "idle")), 1);
}

TEST_F(ConnectionLimits, AuthenticatedConnectionsHaveTheirOwnBudget) {
    config()["terminal_listener"]["max_connections"] = 1;
    config()["api_listener"]["max_connections"] = 1;
    start_server();
    auto first = hello("T-1");
    auto second = client("T-2");
    ASSERT_TRUE(second->connect());
    second->send({{"type", "hello"}, {"terminal", "T-2"}, {"proto", 1}});
    auto refused = second->read_frame_of_type("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["code"], "unavailable");
    EXPECT_TRUE(second->wait_closed());

    const std::string token = make_token("dispatcher", "desk");
    WsClient console(api_port(), certs_->server_ca());
    ASSERT_TRUE(console.connect("/ws/console", token));
    ASSERT_TRUE(console.read_type("snapshot"));
    WsClient another(api_port(), certs_->server_ca());
    ASSERT_TRUE(another.connect("/ws/console", token));
    auto full = another.read_type("error");
    ASSERT_TRUE(full);
    EXPECT_EQ((*full)["code"], "unavailable");
    // Unauthenticated requests still have their own places.
    EXPECT_EQ(get("/healthz", "").status, 200);
    EXPECT_EQ(
        metric(series("huxiao_connections_refused_total", "terminal", "cause", "max_connections")),
        1);
    EXPECT_EQ(metric(series("huxiao_connections_refused_total", "api", "cause", "max_connections")),
              1);
}

TEST_F(ConnectionLimits, ANewSessionOfATerminalReplacesTheOldestPastTheCap) {
    config()["terminal_listener"]["max_sessions_per_terminal"] = 1;
    start_server();
    auto old_session = hello("T-1");
    auto new_session = hello("T-1");
    EXPECT_TRUE(old_session->wait_closed());
    new_session->send({{"type", "heartbeat"}, {"seq", 7}});
    auto ack = new_session->read_frame_of_type("heartbeat_ack");
    ASSERT_TRUE(ack);
    EXPECT_EQ((*ack)["seq"], 7);
    // Another terminal is not affected.
    auto other = hello("T-1B");
    EXPECT_FALSE(new_session->wait_closed(std::chrono::milliseconds(200)));
}

TEST_F(ConnectionLimits, AcceptBacksOffWhenOutOfDescriptorsAndServesAfterwards) {
    const int kMaxOpenFiles = 64;
    config()["terminal_listener"]["handshake_timeout_s"] = 60;
    config()["terminal_listener"]["max_unauthenticated_per_address"] = 1000;
    server_ = std::make_unique<ServerProcess>(config(), dir_ / "server", kMaxOpenFiles);
    std::size_t in_use = 0;
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(server().pid()) + "/fd"))
        ++in_use;
    ASSERT_LT(in_use, static_cast<std::size_t>(kMaxOpenFiles));
    {
        // More connections than the server has descriptors left: the rest
        // wait in the backlog while accept() fails with EMFILE.
        std::vector<std::unique_ptr<JunkConnection>> flood;
        for (std::size_t i = 0; i < kMaxOpenFiles - in_use + 20; ++i) {
            flood.push_back(std::make_unique<JunkConnection>(port()));
            ASSERT_TRUE(flood.back()->connected());
        }
        // Long enough for a spinning accept loop to fail many thousand times.
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }  // the flood ends
    auto terminal = hello("T-1");
    terminal->send({{"type", "heartbeat"}, {"seq", 1}});
    EXPECT_TRUE(terminal->read_frame_of_type("heartbeat_ack"));
    const double errors =
        metric(series("huxiao_accept_errors_total", "terminal", "cause", "emfile"));
    EXPECT_GE(errors, 1);
    // Backing off 200 ms per failure: a handful per second of flood, where a
    // spinning loop counts in the hundreds of thousands.
    EXPECT_LT(errors, 200);
}

}  // namespace
}  // namespace huxiao::test
