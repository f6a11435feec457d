// Accepts terminal connections on `terminal_listener` and gives each its own
// strand and TerminalSession. Every connection must first get a place from
// the listener's ConnectionGate (caps before authentication, overall and per
// source address; max_connections after the hello); others are closed at
// accept: a bounded server beats a dead one. Unless they may wait: a
// connection past the budgets before authentication waits in a bounded
// WaitingRoom (common/util/waiting_room.hpp) for a place, first come first
// served, if it could finish its handshake within handshake_timeout_s at the
// rate places free; it is closed when its wait runs out. When the process is
// out of file descriptors the accept loop waits a little instead of spinning.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "common/util/waiting_room.hpp"
#include "server/sessions/connection_gate.hpp"
#include "server/sessions/terminal_session.hpp"
#include "server/sessions/tls.hpp"

namespace huxiao {
class TerminalRoster;
}  // namespace huxiao

namespace huxiao::net {

class TerminalListener : public std::enable_shared_from_this<TerminalListener> {
  public:
    TerminalListener(boost::asio::any_io_executor executor, boost::asio::ssl::context tls,
                     TerminalSessionContext context);

    // Binds and listens; throws std::runtime_error naming the address.
    void open(const std::string& address, int port);
    void start();
    // Stops accepting; open sessions take no new alarms but still send the
    // acks of alarms being committed.
    void stop();
    // Flushes and closes every session (TLS close_notify).
    void close_sessions();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    std::size_t connections() const { return gate_->authenticated() + gate_->unauthenticated(); }
    const ConnectionGate& gate() const { return *gate_; }
    // Thread-safe: new connections get `tls`; open sessions keep theirs.
    void replace_tls(boost::asio::ssl::context tls, bool keep_ticket_keys) {
        tls_.replace(std::move(tls), keep_ticket_keys);
    }

  private:
    void accept();
    // A new connection: a place, the waiting room, or closed.
    void admit(boost::asio::ip::tcp::socket socket);
    // Closes the waiting connections whose wait ran out and starts the
    // oldest others that now get a place. Any thread.
    void drain();
    void start_session(boost::asio::ip::tcp::socket socket,
                       std::shared_ptr<ConnectionGate::Slot> slot);
    void sweep();
    double drain_rate(WaitClock::time_point now);
    std::size_t in_flight_limit(WaitClock::time_point now);
    template <typename F>
    void for_each_session(F f);

    boost::asio::any_io_executor executor_;
    TlsContextHolder tls_;
    TerminalSessionContext context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    std::shared_ptr<ConnectionGate> gate_;
    std::shared_ptr<TerminalRoster> roster_;
    std::mutex sessions_mutex_;
    std::vector<std::weak_ptr<TerminalSession>> sessions_;
    std::mutex waiting_mutex_;
    WaitingRoom<boost::asio::ip::tcp::socket> waiting_;
    DrainRate drained_;
    bool open_ = true;
    // Closes waiting connections whose wait ran out even when no place frees.
    boost::asio::strand<boost::asio::any_io_executor> sweep_strand_;
    boost::asio::steady_timer sweep_;
};

}  // namespace huxiao::net
