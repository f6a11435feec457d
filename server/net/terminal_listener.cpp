#include "server/net/terminal_listener.hpp"

#include <boost/asio/strand.hpp>
#include <stdexcept>

#include "server/base/log.hpp"
#include "server/sessions/terminal_roster.hpp"

namespace huxiao::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Long enough for sessions to end and give descriptors back, short enough
// that a real terminal waits no longer than one TCP retransmission.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(200);
}  // namespace

TerminalListener::TerminalListener(asio::any_io_executor executor, asio::ssl::context tls,
                                   TerminalSessionContext context)
    : executor_(executor),
      tls_(std::move(tls)),
      context_(context),
      acceptor_(executor),
      backoff_(executor) {
    const auto& t = context_.config.terminal_listener;
    gate_ = std::make_shared<ConnectionGate>(
        "terminal", ConnectionLimits{static_cast<std::size_t>(t.max_unauthenticated),
                                     static_cast<std::size_t>(t.max_unauthenticated_per_address),
                                     static_cast<std::size_t>(t.max_connections)});
    roster_ =
        std::make_shared<TerminalRoster>(static_cast<std::size_t>(t.max_sessions_per_terminal));
}

void TerminalListener::open(const std::string& address, int port) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec)
        throw std::runtime_error("terminal_listener.address: \"" + address +
                                 "\" is not an IP address");
    const tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep, ec);
    if (ec) {
        throw std::runtime_error("terminal_listener: cannot bind " + address + ":" +
                                 std::to_string(port) + ": " + ec.message());
    }
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void TerminalListener::start() { accept(); }

template <typename F>
void TerminalListener::for_each_session(F f) {
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_) {
        if (auto s = weak.lock()) f(*s);
    }
}

void TerminalListener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->backoff_.cancel();
    });
    for_each_session([](TerminalSession& s) { s.drain(); });
}

void TerminalListener::close_sessions() {
    for_each_session([](TerminalSession& s) { s.close(); });
}

void TerminalListener::accept() {
    acceptor_.async_accept(
        asio::make_strand(executor_),
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
            if (ec) {
                const AcceptError kind = classify_accept_error(ec);
                self->gate_->accept_failed(kind);
                if (kind != AcceptError::other) {
                    // The pending connection stays in the backlog: accepting again
                    // at once would fail again at once, forever.
                    self->backoff_.expires_after(kAcceptBackoff);
                    self->backoff_.async_wait([self](boost::system::error_code wec) {
                        if (!wec && self->acceptor_.is_open()) self->accept();
                    });
                    return;
                }
                log_warn("terminal", "accept failed: " + ec.message());
                self->accept();
                return;
            }
            boost::system::error_code ignored;
            const auto peer = socket.remote_endpoint(ignored);
            auto slot = ignored ? nullptr : self->gate_->admit(peer.address().to_string());
            if (!slot) {
                // Closed before TLS: a refused connection costs no handshake.
                socket.close(ignored);
                self->accept();
                return;
            }
            socket.set_option(tcp::no_delay(true), ignored);
            auto session =
                std::make_shared<TerminalSession>(std::move(socket), self->tls_.current(),
                                                  self->context_, std::move(slot), self->roster_);
            {
                std::lock_guard lock(self->sessions_mutex_);
                if (self->sessions_.size() > 2 * self->connections() + 64) {
                    std::erase_if(self->sessions_, [](auto& w) { return w.expired(); });
                }
                self->sessions_.push_back(session);
            }
            session->start();
            self->accept();
        });
}

}  // namespace huxiao::net
