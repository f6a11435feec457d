// HttpSession: one TLS connection on the API listener. Reads HTTP/1.1
// requests with size and time limits, hands WebSocket upgrades of /ws/unit
// and /ws/console to a WsSession, and everything else to the ApiRouter.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>

namespace huxiao {

class ApiRouter;
class TokenAuthenticator;
class WsChannel;

struct HttpSessionContext {
    ApiRouter& router;
    TokenAuthenticator& auth;
    // Makes the channel for a WebSocket path, or null for an unknown path.
    std::function<std::unique_ptr<WsChannel>(const std::string& path)> make_channel;
};

boost::asio::awaitable<void> run_http_session(boost::asio::ip::tcp::socket socket,
                                              boost::asio::ssl::context& tls,
                                              HttpSessionContext ctx);

}  // namespace huxiao
