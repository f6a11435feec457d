#include "server/net/api_listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <stdexcept>

#include "server/base/log.hpp"

namespace huxiao::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kAcceptBackoff = std::chrono::milliseconds(200);  // see TerminalListener
}

ApiListener::ApiListener(asio::any_io_executor executor, asio::ssl::context tls,
                         HttpSessionContext context)
    : executor_(executor),
      tls_(std::move(tls)),
      context_(std::move(context)),
      acceptor_(executor),
      backoff_(executor) {
    const auto& a = context_.config;
    gate_ = std::make_shared<ConnectionGate>(
        "api", ConnectionLimits{static_cast<std::size_t>(a.max_unauthenticated),
                                static_cast<std::size_t>(a.max_unauthenticated_per_address),
                                static_cast<std::size_t>(a.max_connections)});
}

void ApiListener::open(const std::string& address, int port) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec)
        throw std::runtime_error("api_listener.address: \"" + address + "\" is not an IP address");
    const tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep, ec);
    if (ec) {
        throw std::runtime_error("api_listener: cannot bind " + address + ":" +
                                 std::to_string(port) + ": " + ec.message());
    }
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void ApiListener::start() { accept(); }

void ApiListener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->backoff_.cancel();
    });
}

void ApiListener::accept() {
    acceptor_.async_accept(
        asio::make_strand(executor_),
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
            if (ec) {
                const AcceptError kind = classify_accept_error(ec);
                self->gate_->accept_failed(kind);
                if (kind != AcceptError::other) {
                    self->backoff_.expires_after(kAcceptBackoff);
                    self->backoff_.async_wait([self](boost::system::error_code wec) {
                        if (!wec && self->acceptor_.is_open()) self->accept();
                    });
                    return;
                }
                self->accept();
                return;
            }
            boost::system::error_code ignored;
            const auto peer = socket.remote_endpoint(ignored);
            auto slot = ignored ? nullptr : self->gate_->admit(peer.address().to_string());
            if (!slot) {
                socket.close(ignored);
                self->accept();
                return;
            }
            socket.set_option(tcp::no_delay(true), ignored);
            auto executor = socket.get_executor();
            asio::co_spawn(executor,
                           run_http_session(std::move(socket), self->tls_.current(), self->context_,
                                            std::move(slot)),
                           [](std::exception_ptr e) {
                               if (!e) return;
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& ex) {
                                   log_error("api", std::string("session failed: ") + ex.what());
                               }
                           });
            self->accept();
        });
}

}  // namespace huxiao::net
