#include "server/sessions/http_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/api/api_router.hpp"
#include "server/app/auth.hpp"
#include "server/base/log.hpp"
#include "server/sessions/ws_session.hpp"

namespace huxiao {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
constexpr std::size_t kMaxBodyBytes = 1 << 20;  // larger bodies get 413
constexpr std::size_t kMaxHeaderBytes = 16 << 10;
constexpr std::size_t kMaxWsMessageBytes = 64 << 10;
constexpr std::size_t kMaxWsQueue = 4096;
}  // namespace

// Longer than 80 lines on purpose: one connection's life as one coroutine,
// each stage with its deadline in the order a client meets them (handshake,
// idle, header, body, answer, upgrade). Split, the stages would pass the
// stream and its timer between coroutines, and GCC 12's coroutine bugs
// (docs/architecture.md, "GCC 12 coroutines") make every such hand-over a
// place to get lifetimes wrong. What is not a stage lives in ApiRouter and
// WsSession.
asio::awaitable<void> run_http_session(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                                       HttpSessionContext ctx,
                                       std::shared_ptr<ConnectionGate::Slot> slot) {
    // beast::tcp_stream carries the deadlines: each stage has its own, and a
    // stage that overruns it ends the session.
    const auto& cfg = ctx.config;
    boost::system::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    ApiRouter::Client client;
    client.loopback =
        !peer_error &&
        (peer.address().is_loopback() ||
         (peer.address().is_v6() && peer.address().to_v6().is_v4_mapped() &&
          asio::ip::make_address_v4(asio::ip::v4_mapped, peer.address().to_v6()).is_loopback()));
    WsSession::TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
    auto& lowest = beast::get_lowest_layer(stream);
    const auto timed_out = [&](const boost::system::error_code& ec, TimeoutStage stage) {
        if (ec == beast::error::timeout) slot->timed_out(stage);
    };
    lowest.expires_after(std::chrono::seconds(cfg.handshake_timeout_s));
    auto [hs] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    timed_out(hs, TimeoutStage::handshake);
    beast::flat_buffer buffer;
    bool first = true;
    while (!hs) {
        if (!first && buffer.size() == 0) {
            // Keep-alive: the next request may take idle_timeout_s to start;
            // its headers then get header_timeout_s like the first one.
            lowest.expires_after(std::chrono::seconds(cfg.idle_timeout_s));
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
            if (ec) {
                timed_out(ec, TimeoutStage::idle);
                break;
            }
            buffer.commit(n);
        }
        first = false;
        lowest.expires_after(std::chrono::seconds(cfg.header_timeout_s));
        http::request_parser<http::string_body> parser;
        parser.header_limit(kMaxHeaderBytes);
        parser.body_limit(kMaxBodyBytes);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        timed_out(ec, TimeoutStage::header);
        if (!ec && !parser.is_done()) {
            lowest.expires_after(std::chrono::seconds(cfg.body_timeout_s));
            std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
            timed_out(ec, TimeoutStage::body);
        }
        if (ec == http::error::body_limit) {
            auto res = ApiRouter::error(
                http::status::payload_too_large, "too_large",
                "request body exceeds " + std::to_string(kMaxBodyBytes) + " bytes", 11, false);
            lowest.expires_after(std::chrono::seconds(cfg.body_timeout_s));
            co_await http::async_write(stream, res, use_tuple);
            // Read and drop what the client is still sending (bounded), so
            // that closing does not reset the connection before it has read
            // the 413.
            lowest.expires_after(std::chrono::seconds(5));
            std::vector<char> scratch(64 << 10);
            std::size_t drained = 0;
            while (drained < (64u << 20)) {
                auto [rec, got] = co_await stream.async_read_some(asio::buffer(scratch), use_tuple);
                if (rec) break;
                drained += got;
            }
            break;
        }
        if (ec) break;
        auto req = parser.release();
        if (beast::websocket::is_upgrade(req)) {
            const std::string path(req.target().substr(0, req.target().find('?')));
            if (ctx.standby && ctx.standby()) {
                auto res = ApiRouter::error(
                    http::status::service_unavailable, "unavailable",
                    "this server is a standby; connect to the leader (GET /readyz names it)",
                    req.version(), false);
                co_await http::async_write(stream, res, use_tuple);
                break;
            }
            auto channel = ctx.make_channel(path);
            if (!channel) {
                auto res =
                    ApiRouter::error(http::status::not_found, "not_found",
                                     "no WebSocket endpoint at " + path, req.version(), false);
                co_await http::async_write(stream, res, use_tuple);
                break;
            }
            // The WebSocket keeps its own timeouts (pings) from here on.
            lowest.expires_never();
            WsAdmission admission{
                [slot] { return slot->authenticate(); },
                [slot] { slot->timed_out(TimeoutStage::ws_auth); },
                std::chrono::seconds(cfg.ws_idle_timeout_s),
            };
            auto ws =
                std::make_shared<WsSession>(std::move(stream), std::move(channel), ctx.auth,
                                            kMaxWsMessageBytes, kMaxWsQueue, std::move(admission));
            co_await ws->run(req);
            co_return;
        }
        std::optional<std::string> token;
        if (auto it = req.find(http::field::authorization); it != req.end()) {
            token = bearer_token(it->value());
        }
        auto res = co_await ctx.router.handle(req, client);
        if (token && !slot->authenticated()) {
            // A valid token moves the connection to the authenticated budget
            // (the router's look-up left the answer in the cache). When that
            // budget is full the answer still goes out, then the connection.
            const std::string& token_text = *token;
            auto outcome = co_await ctx.auth.authenticate(token_text);
            if (outcome.who && !slot->authenticate()) res.keep_alive(false);
        }
        const bool keep_alive = res.keep_alive();
        lowest.expires_after(std::chrono::seconds(cfg.idle_timeout_s));
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !keep_alive) break;
    }
    if (lowest.socket().is_open()) {
        lowest.expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(use_tuple);
        lowest.close();
    }
}

}  // namespace huxiao
