#include "server/net/api_listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <stdexcept>

#include "server/app/log.hpp"

namespace huxiao::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

ApiListener::ApiListener(asio::any_io_executor executor, asio::ssl::context tls,
                         HttpSessionContext context, std::size_t max_connections)
    : executor_(executor),
      tls_(std::move(tls)),
      context_(std::move(context)),
      acceptor_(executor),
      max_connections_(max_connections) {}

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
    });
}

void ApiListener::accept() {
    acceptor_.async_accept(
        asio::make_strand(executor_),
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
            if (!ec) {
                if (*self->active_ >= self->max_connections_) {
                    socket.close(ec);
                } else {
                    ++*self->active_;
                    socket.set_option(tcp::no_delay(true), ec);
                    auto executor = socket.get_executor();
                    asio::co_spawn(
                        executor, run_http_session(std::move(socket), self->tls_, self->context_),
                        [active = self->active_](std::exception_ptr e) {
                            --*active;
                            if (e) {
                                try {
                                    std::rethrow_exception(e);
                                } catch (const std::exception& ex) {
                                    log_error("api", std::string("session failed: ") + ex.what());
                                }
                            }
                        });
                }
            }
            self->accept();
        });
}

}  // namespace huxiao::net
