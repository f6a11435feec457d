// WsSession: one WebSocket over TLS on the API listener (contract §4).
// Authenticates (Bearer header on the upgrade, or a first `auth` message
// within 5 s), then passes each text message to its WsChannel and writes
// what the channel sends through one outgoing queue: one writer at a time.
// Limits: messages in per second (token bucket: over it a message is refused
// with `rate_limited`; a peer that keeps it up is closed), and the outgoing
// queue in messages and in bytes (a peer that does not read is closed, not
// buffered forever).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/app/ws_channel.hpp"

namespace huxiao {

class TokenAuthenticator;

// How a WebSocket takes part in its listener's connection budget: it calls
// `authenticated` once the token is good (false: no place left, refused) and
// `auth_timed_out` when no `auth` message came in time. Silence for
// idle_timeout (pings at half of it) closes the connection.
struct WsAdmission {
    std::function<bool()> authenticated = [] { return true; };
    std::function<void()> auth_timed_out = [] {};
    std::chrono::seconds idle_timeout{60};
};

class WsSession final : public WsPeer, public std::enable_shared_from_this<WsSession> {
  public:
    using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    WsSession(TlsStream stream, std::unique_ptr<WsChannel> channel, TokenAuthenticator& auth,
              std::size_t max_message_bytes, std::size_t max_queued, WsAdmission admission = {});
    ~WsSession() override;

    // Accepts the upgrade `request` and runs until the socket closes.
    boost::asio::awaitable<void> run(const Request& request);

    using WsPeer::send;
    void send(std::shared_ptr<const std::string> text) override;
    void close() override;
    void revoke() override;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace huxiao
