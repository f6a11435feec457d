#include "server/sessions/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "common/protocol/bounded_json.hpp"
#include "server/app/auth.hpp"
#include "server/app/log.hpp"

namespace huxiao {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct WsSession::Impl {
    websocket::stream<TlsStream> ws;
    std::unique_ptr<WsChannel> channel;
    TokenAuthenticator& auth;
    std::size_t max_queued;
    asio::steady_timer write_signal;
    std::deque<std::string> outbox;
    bool closing = false;
    bool open = false;

    Impl(TlsStream stream, std::unique_ptr<WsChannel> c, TokenAuthenticator& a,
         std::size_t max_bytes, std::size_t queued)
        : ws(std::move(stream)),
          channel(std::move(c)),
          auth(a),
          max_queued(queued),
          write_signal(ws.get_executor()) {
        ws.read_message_max(max_bytes);
        write_signal.expires_at(std::chrono::steady_clock::time_point::max());
    }

    void queue(std::string text) {
        if (closing) return;
        if (outbox.size() >= max_queued) {
            // A peer that does not keep up is cut off rather than grow without
            // bound; consoles resync with a snapshot when they reconnect.
            log_warn("ws", "peer does not read its messages; closing");
            closing = true;
            beast::get_lowest_layer(ws).close();
            write_signal.cancel();
            return;
        }
        outbox.push_back(std::move(text));
        write_signal.cancel();
    }
};

WsSession::WsSession(TlsStream stream, std::unique_ptr<WsChannel> channel, TokenAuthenticator& auth,
                     std::size_t max_message_bytes, std::size_t max_queued)
    : impl_(std::make_unique<Impl>(std::move(stream), std::move(channel), auth, max_message_bytes,
                                   max_queued)) {}

WsSession::~WsSession() = default;

void WsSession::send(std::string text) {
    asio::post(impl_->ws.get_executor(),
               [self = shared_from_this(), text = std::move(text)]() mutable {
                   self->impl_->queue(std::move(text));
               });
}

void WsSession::close() {
    asio::post(impl_->ws.get_executor(), [self = shared_from_this()] {
        self->impl_->closing = true;
        self->impl_->write_signal.cancel();
    });
}

namespace {

std::string error_text(const std::string& code, const std::string& message) {
    return nlohmann::json{{"type", "error"}, {"code", code}, {"message", message}, {"ref", nullptr}}
        .dump();
}

asio::awaitable<void> write_loop([[maybe_unused]] std::shared_ptr<WsSession> self,
                                 WsSession::Impl& s) {
    for (;;) {
        while (!s.outbox.empty()) {
            s.ws.text(true);
            auto [ec, n] = co_await s.ws.async_write(asio::buffer(s.outbox.front()), use_tuple);
            if (ec) {
                s.closing = true;
                beast::get_lowest_layer(s.ws).close();
                co_return;
            }
            s.outbox.pop_front();
        }
        if (s.closing || !beast::get_lowest_layer(s.ws).socket().is_open()) break;
        co_await s.write_signal.async_wait(use_tuple);
    }
    if (beast::get_lowest_layer(s.ws).socket().is_open()) {
        co_await s.ws.async_close(websocket::close_code::normal, use_tuple);
        beast::get_lowest_layer(s.ws).close();
    }
}

}  // namespace

asio::awaitable<void> WsSession::run(const Request& request) {
    auto self = shared_from_this();
    Impl& s = *impl_;
    s.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    s.ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "huxiaod"); }));
    std::optional<std::string> token;
    if (auto it = request.find(beast::http::field::authorization); it != request.end()) {
        token = bearer_token(std::string(it->value()));
    }
    auto [accept_ec] = co_await s.ws.async_accept(request, use_tuple);
    if (accept_ec) co_return;
    asio::co_spawn(s.ws.get_executor(), write_loop(self, s), asio::detached);

    beast::flat_buffer buffer;
    if (!token) {
        // Browsers cannot set headers on a WebSocket: the first message
        // carries the token, within 5 s.
        asio::steady_timer auth_deadline(s.ws.get_executor(), std::chrono::seconds(5));
        auth_deadline.async_wait([&s](boost::system::error_code ec) {
            if (!ec) beast::get_lowest_layer(s.ws).close();
        });
        auto [ec, n] = co_await s.ws.async_read(buffer, use_tuple);
        auth_deadline.cancel();
        if (!ec) {
            auto parsed = parse_bounded_json(beast::buffers_to_string(buffer.data()));
            nlohmann::json msg;  // null (so not an auth message) when refused
            if (auto* j = std::get_if<nlohmann::json>(&parsed)) msg = std::move(*j);
            if (msg.is_object() && msg.value("type", "") == "auth" && msg.contains("token") &&
                msg["token"].is_string()) {
                token = msg["token"].get<std::string>();
            }
        }
        buffer.consume(buffer.size());
    }
    std::optional<Principal> who;
    bool unavailable = false;
    if (token) {
        const std::string& token_text = *token;
        auto outcome = co_await s.auth.authenticate(token_text);
        who = std::move(outcome.who);
        unavailable = outcome.unavailable;
    }
    if (!who) {
        s.queue(unavailable
                    ? error_text("unavailable", "the database is unreachable; reconnect later")
                    : error_text("unauthorized", "missing, unknown or revoked token"));
        s.closing = true;
        s.write_signal.cancel();
        co_return;
    }
    if (!s.channel->allowed(*who)) {
        s.queue(error_text("forbidden", "role " + who->role + " may not use this endpoint"));
        s.closing = true;
        s.write_signal.cancel();
        co_return;
    }
    s.open = true;
    s.channel->opened(*who, self);
    for (;;) {
        auto [ec, n] = co_await s.ws.async_read(buffer, use_tuple);
        if (ec) break;
        if (!s.ws.got_text()) {
            s.queue(error_text("bad_frame", "messages are JSON text frames"));
        } else {
            s.channel->message(beast::buffers_to_string(buffer.data()));
        }
        buffer.consume(buffer.size());
        if (s.closing) break;
    }
    s.channel->closed();
    s.closing = true;
    s.write_signal.cancel();
}

}  // namespace huxiao
