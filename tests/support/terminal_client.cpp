#include "tests/support/terminal_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <stdexcept>

namespace huxiao::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TerminalClient::Impl {
    asio::io_context io;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    std::unique_ptr<asio::ssl::stream<tcp::socket>> stream;
    std::string buffer;
    std::deque<nlohmann::json> skipped;  // frames passed over by read_frame_of_type
    int port;
    boost::system::error_code close_error;  // what wait_closed saw

    // Runs the io_context until `done` or the timeout; cancels on timeout.
    bool run_until(bool& done, std::chrono::milliseconds timeout) {
        io.restart();
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (!done && std::chrono::steady_clock::now() < until) {
            io.run_one_for(std::chrono::milliseconds(50));
        }
        if (!done) {
            boost::system::error_code ignored;
            stream->next_layer().cancel(ignored);
            io.restart();
            io.run_for(std::chrono::milliseconds(200));
        }
        return done;
    }
};

TerminalClient::TerminalClient(int port, const CertFactory::Pair* cert,
                               const std::filesystem::path& server_ca)
    : impl_(std::make_unique<Impl>()) {
    impl_->port = port;
    impl_->tls.load_verify_file(server_ca.string());
    impl_->tls.set_verify_mode(asio::ssl::verify_peer);
    if (cert) {
        impl_->tls.use_certificate_chain_file(cert->cert.string());
        impl_->tls.use_private_key_file(cert->key.string(), asio::ssl::context::pem);
    }
    impl_->stream = std::make_unique<asio::ssl::stream<tcp::socket>>(impl_->io, impl_->tls);
}

TerminalClient::~TerminalClient() = default;

bool TerminalClient::connect(std::string* error) {
    boost::system::error_code ec;
    impl_->stream->next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                                      static_cast<unsigned short>(impl_->port)),
                                        ec);
    if (ec) {
        if (error) *error = "connect: " + ec.message();
        return false;
    }
    bool done = false;
    boost::system::error_code hs;
    impl_->stream->async_handshake(asio::ssl::stream_base::client,
                                   [&](boost::system::error_code e) {
                                       hs = e;
                                       done = true;
                                   });
    if (!impl_->run_until(done, std::chrono::seconds(10))) {
        if (error) *error = "handshake timed out";
        return false;
    }
    if (hs && error) *error = "handshake: " + hs.message();
    return !hs;
}

void TerminalClient::connect_and_hello(const std::string& terminal) {
    std::string error;
    if (!connect(&error)) throw std::runtime_error(terminal + ": " + error);
    send({{"type", "hello"}, {"terminal", terminal}, {"proto", 1}, {"fw", "test"}});
    auto welcome = read_frame();
    if (!welcome || (*welcome)["type"] != "welcome") {
        throw std::runtime_error(terminal + ": no welcome, got " +
                                 (welcome ? welcome->dump() : "nothing"));
    }
}

bool TerminalClient::send_raw(const std::string& bytes) {
    bool done = false;
    boost::system::error_code ec;
    asio::async_write(*impl_->stream, asio::buffer(bytes),
                      [&](boost::system::error_code e, std::size_t) {
                          ec = e;
                          done = true;
                      });
    return impl_->run_until(done, std::chrono::seconds(10)) && !ec;
}

bool TerminalClient::send_line(const std::string& line) { return send_raw(line + "\n"); }

std::optional<nlohmann::json> TerminalClient::read_frame(std::chrono::milliseconds timeout) {
    if (!impl_->skipped.empty()) {
        auto frame = std::move(impl_->skipped.front());
        impl_->skipped.pop_front();
        return frame;
    }
    return read_new_frame(timeout);
}

std::optional<nlohmann::json> TerminalClient::read_new_frame(std::chrono::milliseconds timeout) {
    bool done = false;
    boost::system::error_code ec;
    std::size_t n = 0;
    asio::async_read_until(*impl_->stream, asio::dynamic_buffer(impl_->buffer), '\n',
                           [&](boost::system::error_code e, std::size_t size) {
                               ec = e;
                               n = size;
                               done = true;
                           });
    if (!impl_->run_until(done, timeout) || ec) return std::nullopt;
    std::string line = impl_->buffer.substr(0, n - 1);
    impl_->buffer.erase(0, n);
    auto frame = nlohmann::json::parse(line, nullptr, false);
    if (frame.is_discarded())
        throw std::runtime_error("server sent a line that is not JSON: " + line);
    return frame;
}

std::optional<nlohmann::json> TerminalClient::read_frame_of_type(
    const std::string& type, std::chrono::milliseconds timeout) {
    // Frames of other types stay queued, in order, for later reads.
    auto& skipped = impl_->skipped;
    for (auto it = skipped.begin(); it != skipped.end(); ++it) {
        if ((*it)["type"] == type) {
            auto frame = std::move(*it);
            skipped.erase(it);
            return frame;
        }
    }
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        auto frame = read_new_frame(left);
        if (!frame) return std::nullopt;
        if ((*frame)["type"] == type) return frame;
        skipped.push_back(std::move(*frame));
    }
    return std::nullopt;
}

bool TerminalClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        bool done = false;
        boost::system::error_code ec;
        char byte[256];
        impl_->stream->async_read_some(asio::buffer(byte),
                                       [&](boost::system::error_code e, std::size_t) {
                                           ec = e;
                                           done = true;
                                       });
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (!impl_->run_until(done, left)) return false;
        // Our own cancel at the timeout is not a close by the server.
        if (ec == asio::error::operation_aborted) return false;
        if (ec) {  // EOF, TLS close or reset: closed
            impl_->close_error = ec;
            return true;
        }
    }
    return false;
}

}  // namespace huxiao::test

namespace huxiao::test {

bool TerminalClient::closed_cleanly() const {
    // Asio reports a received close_notify as eof, a bare TCP close as
    // stream_truncated.
    return impl_->close_error == asio::error::eof;
}

void TerminalClient::set_tls_versions(int min_version, int max_version) {
    SSL* ssl = impl_->stream->native_handle();
    if (min_version) SSL_set_min_proto_version(ssl, min_version);
    if (max_version) SSL_set_max_proto_version(ssl, max_version);
}

void TerminalClient::allow_legacy_tls() {
    SSL* ssl = impl_->stream->native_handle();
    SSL_set_security_level(ssl, 0);
    SSL_set_cipher_list(ssl, "DEFAULT:@SECLEVEL=0");
}

void TerminalClient::disable_session_tickets() {
    SSL_set_options(impl_->stream->native_handle(), SSL_OP_NO_TICKET);
}

void TerminalClient::resume(const std::string& session) {
    const auto* data = reinterpret_cast<const unsigned char*>(session.data());
    SSL_SESSION* s = d2i_SSL_SESSION(nullptr, &data, static_cast<long>(session.size()));
    if (!s) throw std::runtime_error("resume: not a DER-encoded TLS session");
    SSL_set_session(impl_->stream->native_handle(), s);
    SSL_SESSION_free(s);
}

std::string TerminalClient::session() const {
    SSL_SESSION* s = SSL_get1_session(impl_->stream->native_handle());
    if (!s) return {};
    std::string der;
    if (SSL_SESSION_is_resumable(s)) {
        const int n = i2d_SSL_SESSION(s, nullptr);
        if (n > 0) {
            der.resize(static_cast<std::size_t>(n));
            auto* out = reinterpret_cast<unsigned char*>(der.data());
            i2d_SSL_SESSION(s, &out);
        }
    }
    SSL_SESSION_free(s);
    return der;
}

bool TerminalClient::resumed() const {
    return SSL_session_reused(impl_->stream->native_handle()) == 1;
}

std::string TerminalClient::server_fingerprint() const {
    X509* cert = SSL_get1_peer_certificate(impl_->stream->native_handle());
    if (!cert) return {};
    std::string hex = sha256_hex(cert);
    X509_free(cert);
    return hex;
}

std::string TerminalClient::protocol() const {
    return SSL_get_version(impl_->stream->native_handle());
}

}  // namespace huxiao::test
