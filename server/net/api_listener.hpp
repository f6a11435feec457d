// Accepts HTTPS and WebSocket connections on `api_listener`; each gets its own
// strand and an HttpSession coroutine.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "server/sessions/http_session.hpp"

namespace huxiao::net {

class ApiListener : public std::enable_shared_from_this<ApiListener> {
  public:
    ApiListener(boost::asio::any_io_executor executor, boost::asio::ssl::context tls,
                HttpSessionContext context, std::size_t max_connections);
    void open(const std::string& address, int port);  // throws naming the address
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  private:
    void accept();
    boost::asio::any_io_executor executor_;
    boost::asio::ssl::context tls_;
    HttpSessionContext context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::size_t max_connections_;
    std::shared_ptr<std::atomic<std::size_t>> active_ =
        std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace huxiao::net
