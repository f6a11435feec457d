// HttpSession: one TLS connection on the API listener. Reads HTTP/1.1
// requests with size and time limits, hands WebSocket upgrades of /ws/unit
// and /ws/console to a WsSession, and everything else to the ApiRouter.
//
// Deadlines (api_listener config): the TLS handshake; each request's headers
// from its first byte (slowloris); its body; the keep-alive wait between
// requests. The connection holds an unauthenticated place of the listener's
// ConnectionGate until a request carries a valid token (or a WebSocket
// authenticates).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "server/sessions/connection_gate.hpp"

namespace huxiao {

class ApiRouter;
class TokenAuthenticator;
class WsChannel;

struct HttpSessionContext {
    const ApiListenerConfig& config;
    ApiRouter& router;
    TokenAuthenticator& auth;
    // Makes the channel for a WebSocket path, or null for an unknown path.
    std::function<std::unique_ptr<WsChannel>(const std::string& path)> make_channel;
    // Contract §8: true while this server is a standby, which answers every
    // WebSocket upgrade with 503 (units and consoles go to the leader).
    std::function<bool()> standby;
};

boost::asio::awaitable<void> run_http_session(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<boost::asio::ssl::context> tls,
                                              HttpSessionContext ctx,
                                              std::shared_ptr<ConnectionGate::Slot> slot);

}  // namespace huxiao
