#include "server/sessions/tls_socket_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <stdexcept>

namespace huxiao {

namespace asio = boost::asio;

namespace {

bool retryable(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

}  // namespace

// A BIO of our own rather than OpenSSL's socket BIO, for three reasons:
// send() with MSG_NOSIGNAL (a write to a connection the peer has reset must
// not raise SIGPIPE, which would end huxiaod); the descriptor is read from the
// Asio socket at each call, so once TerminalSession closes the socket OpenSSL
// gets EBADF instead of reaching a descriptor number the kernel may already
// have given to a new connection; and the errno of a failed call is kept for
// the error code (OpenSSL may make other calls that change errno before we
// see it).
struct SocketBio {
    using Transport = TlsSocketStream::Transport;

    static Transport& transport_of(BIO* bio) { return *static_cast<Transport*>(BIO_get_data(bio)); }

    static int write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
        auto& t = transport_of(bio);
        BIO_clear_retry_flags(bio);
        if (!t.socket->is_open()) {
            t.error = EBADF;
            return 0;
        }
        const ssize_t n = ::send(t.socket->native_handle(), data, size, MSG_NOSIGNAL);
        if (n >= 0) {
            *written = static_cast<std::size_t>(n);
            return 1;
        }
        t.error = errno;
        if (retryable(t.error)) BIO_set_retry_write(bio);
        return 0;
    }

    static int read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
        auto& t = transport_of(bio);
        BIO_clear_retry_flags(bio);
        if (!t.socket->is_open()) {
            t.error = EBADF;
            return 0;
        }
        const ssize_t n = ::recv(t.socket->native_handle(), data, size, 0);
        if (n > 0) {
            *read = static_cast<std::size_t>(n);
            return 1;
        }
        if (n == 0) {
            // OpenSSL asks BIO_eof() to tell a TCP close from an error.
            t.eof = true;
            return 0;
        }
        t.error = errno;
        if (retryable(t.error)) BIO_set_retry_read(bio);
        return 0;
    }

    static long ctrl(BIO* bio, int cmd, long, void*) {
        switch (cmd) {
            case BIO_CTRL_FLUSH:  // send() keeps nothing back
                return 1;
            case BIO_CTRL_EOF:
                return transport_of(bio).eof ? 1 : 0;
            default:  // no other control applies to a plain socket
                return 0;
        }
    }

    static int create(BIO* bio) {
        BIO_set_init(bio, 1);
        return 1;
    }

    static BIO_METHOD* method() {
        // Made once, shared by every connection, never freed.
        static BIO_METHOD* const m = [] {
            BIO_METHOD* made =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "huxiao socket");
            if (!made || BIO_meth_set_write_ex(made, &write) != 1 ||
                BIO_meth_set_read_ex(made, &read) != 1 || BIO_meth_set_ctrl(made, &ctrl) != 1 ||
                BIO_meth_set_create(made, &create) != 1) {
                throw std::runtime_error("OpenSSL cannot make the socket BIO method");
            }
            return made;
        }();
        return m;
    }
};

TlsSocketStream::TlsSocketStream(next_layer_type socket, asio::ssl::context& ctx)
    : socket_(std::move(socket)), transport_{&socket_} {
    // Non-blocking, so that recv/send in the BIO return EAGAIN instead of
    // holding an I/O thread.
    socket_.non_blocking(true);
    ssl_ = SSL_new(ctx.native_handle());
    BIO* bio = ssl_ ? BIO_new(SocketBio::method()) : nullptr;
    if (!bio) {
        SSL_free(ssl_);
        throw std::runtime_error("OpenSSL cannot make a TLS connection");
    }
    BIO_set_data(bio, &transport_);
    SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO; the socket owns the descriptor
    // As ssl::stream: SSL_write may return after a part (one record) of a
    // large buffer, and a retried write may pass the same bytes from another
    // address.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A TCP close without close_notify is not a fatal TLS error here, as it
    // is not with ssl::stream (there OpenSSL never sees the socket's EOF):
    // a fatal error would send an alert and drop the session from the
    // server's cache, so a terminal that lost power could not resume its
    // TLS 1.2 session. attempt() still reports it as stream_truncated.
    SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

TlsSocketStream::~TlsSocketStream() { SSL_free(ssl_); }

void TlsSocketStream::set_role(asio::ssl::stream_base::handshake_type type) {
    if (type == asio::ssl::stream_base::server) {
        SSL_set_accept_state(ssl_);
    } else {
        SSL_set_connect_state(ssl_);
    }
}

TlsSocketStream::Want TlsSocketStream::attempt(Kind kind, void* data, std::size_t size,
                                               std::size_t& bytes, boost::system::error_code& ec) {
    ec = {};
    bytes = 0;
    transport_.error = 0;
    ERR_clear_error();
    int result = 0;
    switch (kind) {
        case Kind::handshake:
            result = SSL_do_handshake(ssl_);
            break;
        case Kind::read:
            result = SSL_read_ex(ssl_, data, size, &bytes);
            break;
        case Kind::write:
            result = SSL_write_ex(ssl_, data, size, &bytes);
            break;
        case Kind::shutdown:
            // 0: our close_notify is sent, the peer's not yet read; the
            // second call reads it (or wants the socket readable).
            result = SSL_shutdown(ssl_);
            if (result == 0) result = SSL_shutdown(ssl_);
            break;
    }
    const int error = SSL_get_error(ssl_, result);
    switch (error) {
        case SSL_ERROR_NONE:
            return Want::done;
        case SSL_ERROR_WANT_READ:
            return Want::readable;
        case SSL_ERROR_WANT_WRITE:
            return Want::writable;
        case SSL_ERROR_ZERO_RETURN:
            // The peer's close_notify: an orderly end, as ssl::stream reports
            // it. Or, with SSL_OP_IGNORE_UNEXPECTED_EOF, the socket's EOF
            // without one (OpenSSL stops reading at a close_notify, so it
            // has seen EOF only if none came): truncated, as ssl::stream says.
            ec = transport_.eof ? boost::system::error_code(asio::ssl::error::stream_truncated)
                                : boost::system::error_code(asio::error::eof);
            break;
        case SSL_ERROR_SYSCALL:
            // The socket failed (reset, closed by us: EBADF), or it ended
            // without close_notify, which may hide a truncation attack.
            if (transport_.error == EBADF && !socket_.is_open()) {
                ec = asio::error::bad_descriptor;
            } else if (transport_.error != 0) {
                ec = boost::system::error_code(transport_.error, boost::system::system_category());
            } else {
                ec = asio::ssl::error::stream_truncated;
            }
            break;
        case SSL_ERROR_SSL: {
            // A TLS failure (bad certificate, garbage, a fatal alert from the
            // peer); OpenSSL has already sent its alert through the BIO.
            const unsigned long reason = ERR_peek_last_error();
            if (ERR_GET_LIB(reason) == ERR_LIB_SSL &&
                ERR_GET_REASON(reason) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                ec = asio::ssl::error::stream_truncated;
            } else if (transport_.error != 0 && ERR_GET_LIB(reason) == ERR_LIB_SYS) {
                ec = boost::system::error_code(transport_.error, boost::system::system_category());
            } else {
                ec = boost::system::error_code(static_cast<int>(reason),
                                               asio::error::get_ssl_category());
            }
            break;
        }
        default:
            ec = asio::ssl::error::unexpected_result;
            break;
    }
    ERR_clear_error();
    return Want::done;
}

}  // namespace huxiao
