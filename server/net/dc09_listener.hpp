// Dc09Listener: the SIA DC-09 receiver's sockets on `dc09_listener` (contract
// §9): a TCP acceptor (one Dc09TcpSession per panel connection) and a UDP
// socket (one datagram, one message), both on the same port. Every frame goes
// to the Dc09Intake; answers go back the way the frame came. Bounded like the
// other listeners: max_connections, at most kMaxTcpPerAddress of them from
// one source address (a ConnectionGate, counted in the connection metrics as
// listener "dc09"), max_frame_bytes, a per-connection or per-sender rate, an
// idle timeout.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/util/token_bucket.hpp"
#include "server/app/dc09_intake.hpp"

namespace huxiao {
class ConnectionGate;
class Dc09TcpSession;
}  // namespace huxiao

namespace huxiao::net {

// TCP connections from one address: a site with several panels behind one
// router has a few; one address holding hundreds is a flood.
constexpr std::size_t kMaxTcpPerAddress = 64;

class Dc09Listener : public std::enable_shared_from_this<Dc09Listener> {
  public:
    Dc09Listener(boost::asio::any_io_executor executor, const Config& config, Dc09Intake& intake);

    // Binds TCP and/or UDP (with port 0: one free port for both); throws
    // std::runtime_error naming the address.
    void open();
    void start();
    void stop();
    unsigned short port() const { return port_; }
    std::size_t connections() const;
    const ConnectionGate& gate() const { return *gate_; }

  private:
    void accept();
    void receive_datagram();

    boost::asio::any_io_executor executor_;
    const Config& config_;
    Dc09Intake& intake_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<boost::asio::ip::udp::socket> udp_;
    boost::asio::ip::udp::endpoint sender_;
    std::string datagram_;
    std::map<std::string, TokenBucket> udp_rates_;  // by sender address (on the UDP strand)
    unsigned short port_ = 0;
    std::shared_ptr<ConnectionGate> gate_;
    boost::asio::steady_timer backoff_;  // after EMFILE/ENFILE
    std::mutex sessions_mutex_;
    std::vector<std::weak_ptr<Dc09TcpSession>> sessions_;
};

}  // namespace huxiao::net
