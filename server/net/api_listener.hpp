// Accepts HTTPS and WebSocket connections on `api_listener`; each gets its own
// strand and an HttpSession coroutine, once the listener's ConnectionGate has
// a place for it (caps before authentication, overall and per source
// address; max_connections once a valid token was shown). When the process is
// out of file descriptors the accept loop waits a little instead of spinning.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/sessions/connection_gate.hpp"
#include "server/sessions/http_session.hpp"
#include "server/sessions/tls.hpp"

namespace huxiao::net {

class ApiListener : public std::enable_shared_from_this<ApiListener> {
  public:
    ApiListener(boost::asio::any_io_executor executor, boost::asio::ssl::context tls,
                HttpSessionContext context);
    void open(const std::string& address, int port);  // throws naming the address
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    const ConnectionGate& gate() const { return *gate_; }
    // Thread-safe: new connections get `tls`; open ones keep theirs.
    void replace_tls(boost::asio::ssl::context tls, bool keep_ticket_keys) {
        tls_.replace(std::move(tls), keep_ticket_keys);
    }

  private:
    void accept();
    boost::asio::any_io_executor executor_;
    TlsContextHolder tls_;
    HttpSessionContext context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    std::shared_ptr<ConnectionGate> gate_;
};

}  // namespace huxiao::net
