#include "tests/support/api_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <stdexcept>

namespace huxiao::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Runs `io` until `done` or the timeout.
bool run_until(asio::io_context& io, bool& done, std::chrono::milliseconds timeout) {
    io.restart();
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < until)
        io.run_one_for(std::chrono::milliseconds(50));
    return done;
}

asio::ssl::context client_tls(const std::filesystem::path& ca) {
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.load_verify_file(ca.string());
    tls.set_verify_mode(asio::ssl::verify_peer);
    return tls;
}

}  // namespace

HttpReply https_request(int port, const std::filesystem::path& server_ca, const std::string& method,
                        const std::string& target, const std::string& token,
                        const std::string& body) {
    asio::io_context io;
    auto tls = client_tls(server_ca);
    asio::ssl::stream<beast::tcp_stream> stream(io, tls);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream.handshake(asio::ssl::stream_base::client);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "localhost");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    beast::error_code write_error;
    http::write(stream, req, write_error);  // a server may answer (413) before reading it all
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    reply.body = res.body();
    for (const auto& f : res) reply.headers[std::string(f.name_string())] = std::string(f.value());
    beast::error_code ignored;
    stream.shutdown(ignored);
    return reply;
}

struct WsClient::Impl {
    asio::io_context io;
    asio::ssl::context tls;
    websocket::stream<asio::ssl::stream<beast::tcp_stream>> ws;
    beast::flat_buffer buffer;
    std::deque<nlohmann::json> skipped;  // messages passed over by read_type
    int port;
    int upgrade_status = 0;
    Impl(int p, const std::filesystem::path& ca) : tls(client_tls(ca)), ws(io, tls), port(p) {}
};

WsClient::WsClient(int port, const std::filesystem::path& server_ca)
    : impl_(std::make_unique<Impl>(port, server_ca)) {}
WsClient::~WsClient() = default;

bool WsClient::connect(const std::string& path, const std::string& bearer) {
    auto& s = *impl_;
    beast::error_code ec;
    beast::get_lowest_layer(s.ws).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(s.ws).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(s.port)),
        ec);
    if (ec) return false;
    s.ws.next_layer().handshake(asio::ssl::stream_base::client, ec);
    if (ec) return false;
    beast::get_lowest_layer(s.ws).expires_never();
    if (!bearer.empty()) {
        s.ws.set_option(websocket::stream_base::decorator([bearer](websocket::request_type& req) {
            req.set(http::field::authorization, "Bearer " + bearer);
        }));
    }
    websocket::response_type res;
    s.ws.handshake(res, "localhost", path, ec);
    s.upgrade_status = res.result_int();
    return !ec;
}

int WsClient::upgrade_status() const { return impl_->upgrade_status; }

bool WsClient::send_text(const std::string& text) {
    beast::error_code ec;
    impl_->ws.text(true);
    impl_->ws.write(asio::buffer(text), ec);
    return !ec;
}

bool WsClient::send(const nlohmann::json& message) { return send_text(message.dump()); }

std::optional<nlohmann::json> WsClient::read(std::chrono::milliseconds timeout) {
    if (!impl_->skipped.empty()) {
        auto m = std::move(impl_->skipped.front());
        impl_->skipped.pop_front();
        return m;
    }
    return read_new(timeout);
}

std::optional<nlohmann::json> WsClient::read_new(std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    bool done = false;
    beast::error_code ec;
    s.ws.async_read(s.buffer, [&](beast::error_code e, std::size_t) {
        ec = e;
        done = true;
    });
    if (!run_until(s.io, done, timeout)) {
        beast::get_lowest_layer(s.ws).cancel();
        s.io.restart();
        s.io.run_for(std::chrono::milliseconds(100));
        return std::nullopt;
    }
    if (ec) return std::nullopt;
    auto text = beast::buffers_to_string(s.buffer.data());
    s.buffer.consume(s.buffer.size());
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded())
        throw std::runtime_error("server sent a message that is not JSON: " + text);
    return j;
}

std::optional<nlohmann::json> WsClient::read_type(const std::string& type,
                                                  std::chrono::milliseconds timeout) {
    auto& skipped = impl_->skipped;
    for (auto it = skipped.begin(); it != skipped.end(); ++it) {
        if (it->value("type", "") == type) {
            auto m = std::move(*it);
            skipped.erase(it);
            return m;
        }
    }
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        auto m = read_new(left);
        if (!m) return std::nullopt;
        if ((*m).value("type", "") == type) return m;
        skipped.push_back(std::move(*m));
    }
    return std::nullopt;
}

int WsClient::close_code() const { return impl_->ws.reason().code; }
std::string WsClient::close_reason() const { return impl_->ws.reason().reason.c_str(); }

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    auto& s = *impl_;
    while (std::chrono::steady_clock::now() < until) {
        bool done = false;
        beast::error_code ec;
        s.ws.async_read(s.buffer, [&](beast::error_code e, std::size_t) {
            ec = e;
            done = true;
        });
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (!run_until(s.io, done, left)) return false;
        s.buffer.consume(s.buffer.size());
        if (ec) return true;
    }
    return false;
}

}  // namespace huxiao::test
