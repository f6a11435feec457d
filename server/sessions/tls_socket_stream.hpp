// TlsSocketStream: TLS over a non-blocking TCP socket, for the terminal
// listener, where tens of thousands of connections sit idle.
//
// Why not boost::asio::ssl::stream: it keeps two 17 KiB record buffers of its
// own per connection, and OpenSSL writes into a 2 x 17 KiB BIO pair between
// them, all resident while the connection is idle (docs/performance.md §12.3:
// 82.5 KiB per idle terminal, 1.6 GiB for 20,000). Here OpenSSL reads and
// writes the socket itself, through a small BIO of ours, so the only record
// buffers are OpenSSL's, which it frees between records
// (SSL_MODE_RELEASE_BUFFERS on the context, server/sessions/tls.cpp).
//
// How it runs: every operation calls OpenSSL at once; when OpenSSL says it
// needs the socket to become readable (SSL_ERROR_WANT_READ) or writable
// (SSL_ERROR_WANT_WRITE), the operation waits for that with
// socket.async_wait, on the reactor, and calls OpenSSL again. No bytes are
// held by the stream in between: a partial record waits in OpenSSL.
//
// Its interface is the part of ssl::stream that TerminalSession uses, with the
// same completion signatures and error codes: a close_notify from the peer
// reads as asio::error::eof, a TCP close without one as
// asio::ssl::error::stream_truncated, a TLS failure as an error of Asio's SSL
// category (its message names OpenSSL's reason), a socket error as itself.
// Closing or cancelling the socket (next_layer()) ends a waiting operation
// with operation_aborted, which is how TerminalSession's deadlines end a
// handshake that stalls.
//
// Rules, as for ssl::stream: all operations and the socket's close/cancel run
// on one strand (the socket's executor); at most one read (or handshake, or
// shutdown) and one write at a time. A write cut short by an error is not
// retried: the caller closes the connection.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <cstddef>

struct ssl_st;

namespace huxiao {

struct SocketBio;

class TlsSocketStream {
  public:
    using next_layer_type = boost::asio::ip::tcp::socket;
    using lowest_layer_type = next_layer_type;
    using executor_type = next_layer_type::executor_type;

    // The connection's SSL takes the context's settings (certificate, verify
    // mode and CA, session cache and ticket keys) and a reference to the
    // context. Throws std::runtime_error if OpenSSL cannot make it.
    TlsSocketStream(next_layer_type socket, boost::asio::ssl::context& ctx);
    ~TlsSocketStream();
    // OpenSSL's BIO points at this object.
    TlsSocketStream(const TlsSocketStream&) = delete;
    TlsSocketStream& operator=(const TlsSocketStream&) = delete;

    executor_type get_executor() { return socket_.get_executor(); }
    next_layer_type& next_layer() { return socket_; }
    lowest_layer_type& lowest_layer() { return socket_; }
    ssl_st* native_handle() { return ssl_; }

    // void(error_code)
    template <typename Token>
    auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token) {
        set_role(type);
        return run<void(boost::system::error_code)>(Kind::handshake, nullptr, 0,
                                                    std::forward<Token>(token));
    }
    // void(error_code, std::size_t); reads into the first non-empty buffer.
    template <typename MutableBuffers, typename Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        const boost::asio::mutable_buffer first =
            first_buffer<boost::asio::mutable_buffer>(buffers);
        return run<void(boost::system::error_code, std::size_t)>(
            Kind::read, first.data(), first.size(), std::forward<Token>(token));
    }
    // void(error_code, std::size_t); writes (part of) the first non-empty buffer.
    template <typename ConstBuffers, typename Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        const boost::asio::const_buffer first = first_buffer<boost::asio::const_buffer>(buffers);
        return run<void(boost::system::error_code, std::size_t)>(
            Kind::write, const_cast<void*>(first.data()), first.size(), std::forward<Token>(token));
    }
    // void(error_code): sends close_notify and waits for the peer's (bound it
    // with a deadline that closes the socket; a peer that just closes ends it
    // with stream_truncated, which callers shutting down can ignore).
    template <typename Token>
    auto async_shutdown(Token&& token) {
        return run<void(boost::system::error_code)>(Kind::shutdown, nullptr, 0,
                                                    std::forward<Token>(token));
    }

  private:
    friend struct SocketBio;  // the BIO reads transport_
    enum class Kind { handshake, read, write, shutdown };
    // What one call into OpenSSL asks for next.
    enum class Want { done, readable, writable };

    // The BIO's view of the socket (see tls_socket_stream.cpp).
    struct Transport {
        next_layer_type* socket;
        int error = 0;     // errno of the last failed send/recv, 0 if none
        bool eof = false;  // the peer closed its side (recv returned 0)
    };

    // One call into OpenSSL for `kind`; on Want::done, `ec` and `bytes` hold
    // the outcome. Never blocks.
    Want attempt(Kind kind, void* data, std::size_t size, std::size_t& bytes,
                 boost::system::error_code& ec);
    void set_role(boost::asio::ssl::stream_base::handshake_type type);

    template <typename Buffer, typename Buffers>
    static Buffer first_buffer(const Buffers& buffers) {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            Buffer b(*it);
            if (b.size() > 0) return b;
        }
        return Buffer();
    }

    // The composed operation: attempt, wait for what OpenSSL wants, attempt
    // again; complete through a post when nothing had to be waited for, so
    // that a handler never runs inside its own initiating call.
    template <typename Signature>
    struct Operation {
        TlsSocketStream& stream;
        Kind kind;
        void* data;
        std::size_t size;
        bool waited = false;
        bool finished = false;
        std::size_t bytes = 0;
        boost::system::error_code result{};

        template <typename Self>
        void operator()(Self& self, boost::system::error_code wait_error = {}) {
            if (!finished) {
                if (wait_error) {
                    // The socket was closed or cancelled while we waited.
                    result = wait_error;
                } else if (kind == Kind::read && size == 0) {
                    // Like a socket: an empty read completes at once.
                } else {
                    switch (stream.attempt(kind, data, size, bytes, result)) {
                        case Want::readable:
                            waited = true;
                            stream.socket_.async_wait(next_layer_type::wait_read, std::move(self));
                            return;
                        case Want::writable:
                            waited = true;
                            stream.socket_.async_wait(next_layer_type::wait_write, std::move(self));
                            return;
                        case Want::done:
                            break;
                    }
                }
                finished = true;
                if (!waited) {
                    boost::asio::post(stream.socket_.get_executor(), std::move(self));
                    return;
                }
            }
            if constexpr (std::is_same_v<Signature, void(boost::system::error_code)>) {
                self.complete(result);
            } else {
                self.complete(result, bytes);
            }
        }
    };

    template <typename Signature, typename Token>
    auto run(Kind kind, void* data, std::size_t size, Token&& token) {
        return boost::asio::async_compose<Token, Signature>(
            Operation<Signature>{*this, kind, data, size}, token, socket_);
    }

    next_layer_type socket_;
    Transport transport_;
    ssl_st* ssl_ = nullptr;
};

}  // namespace huxiao
