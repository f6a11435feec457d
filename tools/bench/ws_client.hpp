// Opening a WebSocket over TLS with a bearer token, as huxiao-bench's patrol
// units (/ws/unit) and consoles (/ws/console) do. Header-only: it is a
// coroutine template over Beast's stream, used by two modes of one tool.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <string>

namespace huxiao::bench {

using WebSocket =
    boost::beast::websocket::stream<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

// Connects `ws` (fresh) to `endpoint`, checks the server certificate for
// `host`, upgrades to `path` with "Authorization: Bearer <token>". Returns
// "" when open, else what failed.
inline boost::asio::awaitable<std::string> open_websocket(WebSocket& ws,
                                                          boost::asio::ip::tcp::endpoint endpoint,
                                                          std::string host, std::string path,
                                                          std::string token) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    namespace websocket = beast::websocket;
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    auto& socket = beast::get_lowest_layer(ws);
    auto [cec] = co_await socket.async_connect(endpoint, use_tuple);
    if (cec) co_return "connect: " + cec.message();
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(host));
    auto [hec] =
        co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) co_return "TLS handshake: " + hec.message();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    const std::string authorization = "Bearer " + token;
    ws.set_option(
        websocket::stream_base::decorator([authorization](websocket::request_type& request) {
            request.set(beast::http::field::authorization, authorization);
            request.set(beast::http::field::user_agent, "huxiao-bench");
        }));
    auto [uec] = co_await ws.async_handshake(host, path, use_tuple);
    if (uec) co_return "WebSocket upgrade of " + path + ": " + uec.message();
    ws.text(true);
    co_return std::string();
}

}  // namespace huxiao::bench
