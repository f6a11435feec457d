// Accepts terminal connections on `terminal_listener` and gives each its own
// strand and TerminalSession, up to max_connections at once (further
// connections are closed at accept: a bounded server beats a dead one).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "server/sessions/terminal_session.hpp"

namespace huxiao::net {

class TerminalListener : public std::enable_shared_from_this<TerminalListener> {
  public:
    TerminalListener(boost::asio::any_io_executor executor, boost::asio::ssl::context tls,
                     TerminalSessionContext context);

    // Binds and listens; throws std::runtime_error naming the address.
    void open(const std::string& address, int port);
    void start();
    void stop();  // stops accepting and asks every session to close
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    std::size_t connections() const { return *active_; }

  private:
    void accept();

    boost::asio::any_io_executor executor_;
    boost::asio::ssl::context tls_;
    TerminalSessionContext context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<std::atomic<std::size_t>> active_ =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::mutex sessions_mutex_;
    std::vector<std::weak_ptr<TerminalSession>> sessions_;
};

}  // namespace huxiao::net
