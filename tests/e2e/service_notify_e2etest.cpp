// Readiness and watchdog for a service manager (packaging/huxiaod.service,
// Type=notify, WatchdogSec=): the real server, started with NOTIFY_SOCKET and
// WATCHDOG_USEC as systemd would set them, tells a datagram socket of the
// test that it is ready (after its listeners are open), feeds the watchdog,
// and says it is stopping on SIGTERM.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

// The service manager's end: an AF_UNIX datagram socket at a path.
class NotifySocket {
  public:
    explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("cannot bind the notify socket " + path.string());
        }
    }
    ~NotifySocket() {
        if (fd_ >= 0) ::close(fd_);
        std::filesystem::remove(path_);
    }
    // The next datagram, or nothing within `timeout_ms`.
    std::optional<std::string> next(int timeout_ms) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
        char buf[512];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<std::size_t>(n));
    }
    // Reads datagrams until one equals `state` (others, e.g. watchdog pings,
    // are skipped); false if none comes within the deadline.
    bool wait_for(const std::string& state, std::string* seen = nullptr) {
        for (int i = 0; i < 300; ++i) {
            auto m = next(100);
            if (!m) continue;
            if (seen) *seen += *m + ";";
            if (*m == state) return true;
        }
        return false;
    }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

class ServiceNotify : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        socket_ = std::make_unique<NotifySocket>(dir_ / "notify.sock");
        // The child inherits these (ServerProcess forks and execs).
        ::setenv("NOTIFY_SOCKET", (dir_ / "notify.sock").c_str(), 1);
        ::setenv("WATCHDOG_USEC", "200000", 1);
        start_server();
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
    }
    void TearDown() override {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ServerTest::TearDown();
    }
    std::unique_ptr<NotifySocket> socket_;
};

TEST_F(ServiceNotify, ReadyOnlyOnceListeningThenWatchdogPingsThenStopping) {
    std::string seen;
    ASSERT_TRUE(socket_->wait_for("READY=1", &seen)) << "got: " << seen;
    // READY=1 came after the listeners opened: both answer now.
    EXPECT_EQ(get("/healthz", "").status, 200);
    auto terminal = hello("T-1");
    ASSERT_NE(terminal, nullptr);

    // A watchdog of 200 ms asks for a ping every 100 ms.
    EXPECT_TRUE(socket_->wait_for("WATCHDOG=1"));
    EXPECT_TRUE(socket_->wait_for("WATCHDOG=1"));

    ASSERT_EQ(server().terminate(), 0);
    seen.clear();
    EXPECT_TRUE(socket_->wait_for("STOPPING=1", &seen)) << "got: " << seen;
}

TEST_F(ServiceNotify, AWatchdogMeantForAnotherProcessIsNotFed) {
    // WATCHDOG_PID names another process: this one must not ping (systemd
    // would count the pings against the wrong pid). Restart with it set.
    server().terminate();
    while (socket_->next(200)) {
    }  // what the first server said
    ::setenv("NOTIFY_SOCKET", (dir_ / "notify.sock").c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);
    ::setenv("WATCHDOG_PID", "1", 1);
    start_server();
    ::unsetenv("WATCHDOG_PID");
    std::string seen;
    ASSERT_TRUE(socket_->wait_for("READY=1", &seen)) << "got: " << seen;
    // Drain what came; then a second's worth of datagrams holds no ping.
    for (int i = 0; i < 10; ++i) {
        auto m = socket_->next(100);
        if (m) {
            EXPECT_NE(*m, "WATCHDOG=1");
        }
    }
}

}  // namespace
}  // namespace huxiao::test
