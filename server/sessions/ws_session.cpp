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
#include "common/util/token_bucket.hpp"
#include "server/app/auth.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"

namespace huxiao {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Messages a console or unit may send: 20 a second, 60 at once. A console
// needs a few per command; a unit reports its position every few seconds.
constexpr double kMessagesPerSecond = 20;
constexpr double kMessageBurst = 60;
// Refused messages tolerated (5 a second, 100 at once) before the peer is
// closed for persistent abuse.
constexpr double kRefusalsPerSecond = 5;
constexpr double kRefusalBurst = 100;
// Bytes queued for a peer that does not read: a few full snapshots of a big
// city, then it is closed (it resyncs with a snapshot when it reconnects).
constexpr std::size_t kMaxOutboxBytes = 32 << 20;
// Contract 1.1: the close code of a session whose token was revoked.
constexpr auto kRevokedCloseCode = static_cast<websocket::close_code>(4001);

struct WsSession::Impl {
    websocket::stream<TlsStream> ws;
    std::unique_ptr<WsChannel> channel;
    TokenAuthenticator& auth;
    std::size_t max_queued;
    WsAdmission admission;
    asio::steady_timer write_signal;
    std::deque<std::shared_ptr<const std::string>> outbox;
    std::size_t outbox_bytes = 0;
    TokenBucket messages{kMessagesPerSecond, kMessageBurst};
    TokenBucket refusals{kRefusalsPerSecond, kRefusalBurst};
    websocket::close_reason close_reason{websocket::close_code::normal};
    bool closing = false;
    bool open = false;
    bool revoked = false;

    Impl(TlsStream stream, std::unique_ptr<WsChannel> c, TokenAuthenticator& a,
         std::size_t max_bytes, std::size_t queued, WsAdmission adm)
        : ws(std::move(stream)),
          channel(std::move(c)),
          auth(a),
          max_queued(queued),
          admission(std::move(adm)),
          write_signal(ws.get_executor()) {
        ws.read_message_max(max_bytes);
        write_signal.expires_at(std::chrono::steady_clock::time_point::max());
    }

    void queue(std::shared_ptr<const std::string> text) {
        if (closing) return;
        if (outbox.size() >= max_queued || outbox_bytes + text->size() > kMaxOutboxBytes) {
            // A peer that does not keep up is cut off rather than grow without
            // bound; consoles resync with a snapshot when they reconnect.
            log_warn("ws", "peer does not read its messages; closing");
            closing = true;
            beast::get_lowest_layer(ws).close();
            write_signal.cancel();
            return;
        }
        outbox_bytes += text->size();
        outbox.push_back(std::move(text));
        write_signal.cancel();
    }
    void queue(std::string text) { queue(std::make_shared<const std::string>(std::move(text))); }

    // The token was revoked: nothing more is read or sent but the close.
    void revoke() {
        if (revoked) return;
        revoked = true;
        outbox.clear();
        outbox_bytes = 0;
        close_reason = websocket::close_reason(kRevokedCloseCode, "revoked");
        closing = true;
        write_signal.cancel();
    }
};

WsSession::WsSession(TlsStream stream, std::unique_ptr<WsChannel> channel, TokenAuthenticator& auth,
                     std::size_t max_message_bytes, std::size_t max_queued, WsAdmission admission)
    : impl_(std::make_unique<Impl>(std::move(stream), std::move(channel), auth, max_message_bytes,
                                   max_queued, std::move(admission))) {}

WsSession::~WsSession() = default;

void WsSession::send(std::shared_ptr<const std::string> text) {
    asio::post(impl_->ws.get_executor(),
               [self = shared_from_this(), text = std::move(text)]() mutable {
                   self->impl_->queue(std::move(text));
               });
}

void WsSession::revoke() {
    asio::post(impl_->ws.get_executor(), [self = shared_from_this()] { self->impl_->revoke(); });
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
            // The buffer is shared with other peers: hold it until written.
            const auto text = s.outbox.front();
            auto [ec, n] = co_await s.ws.async_write(asio::buffer(*text), use_tuple);
            if (ec) {
                s.closing = true;
                beast::get_lowest_layer(s.ws).close();
                co_return;
            }
            if (!s.outbox.empty() && s.outbox.front() == text) {  // revoke() may have cleared it
                s.outbox.pop_front();
                s.outbox_bytes -= text->size();
            }
        }
        if (s.closing || !beast::get_lowest_layer(s.ws).socket().is_open()) break;
        co_await s.write_signal.async_wait(use_tuple);
    }
    if (beast::get_lowest_layer(s.ws).socket().is_open()) {
        const websocket::close_reason reason = s.close_reason;
        co_await s.ws.async_close(reason, use_tuple);
        beast::get_lowest_layer(s.ws).close();
    }
}

}  // namespace

// Longer than 80 lines on purpose, like run_http_session: the accept, the
// authentication deadline and the reader loop are one coroutine so that the
// stream and the session's lifetime (`self`) stay in one frame.
asio::awaitable<void> WsSession::run(const Request& request) {
    auto self = shared_from_this();
    Impl& s = *impl_;
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = s.admission.idle_timeout;
    timeouts.keep_alive_pings = true;  // a live peer answers them; a silent one is closed
    s.ws.set_option(timeouts);
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
            if (ec) return;
            s.admission.auth_timed_out();
            beast::get_lowest_layer(s.ws).close();
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
    if (!s.admission.authenticated()) {
        s.queue(error_text("unavailable", "the server holds its maximum of connections"));
        s.closing = true;
        s.write_signal.cancel();
        co_return;
    }
    s.open = true;
    s.channel->opened(*who, self);
    for (;;) {
        auto [ec, n] = co_await s.ws.async_read(buffer, use_tuple);
        if (ec || s.closing) break;  // closing: e.g. revoked while this message came in
        if (!s.messages.take(system_now())) {
            if (!s.refusals.take(system_now())) {
                log_warn("ws", "peer keeps sending over its rate limit; closing");
                s.close_reason =
                    websocket::close_reason(websocket::close_code::policy_error, "rate_limited");
                s.closing = true;
                s.write_signal.cancel();
                break;
            }
            s.queue(error_text("rate_limited",
                               "more than " + std::to_string(static_cast<int>(kMessagesPerSecond)) +
                                   " messages a second; message dropped"));
        } else if (!s.ws.got_text()) {
            s.queue(error_text("bad_frame", "messages are JSON text frames"));
        } else {
            s.channel->message(beast::buffers_to_string(buffer.data()));
        }
        buffer.consume(buffer.size());
    }
    s.channel->closed();
    s.closing = true;
    s.write_signal.cancel();
}

}  // namespace huxiao
