#include "server/net/terminal_listener.hpp"

#include <boost/asio/strand.hpp>
#include <stdexcept>

#include "server/app/log.hpp"

namespace huxiao::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TerminalListener::TerminalListener(asio::any_io_executor executor, asio::ssl::context tls,
                                   TerminalSessionContext context)
    : executor_(executor), tls_(std::move(tls)), context_(context), acceptor_(executor) {}

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

void TerminalListener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_) {
        if (auto s = weak.lock()) s->stop();
    }
}

void TerminalListener::accept() {
    acceptor_.async_accept(asio::make_strand(executor_), [self = shared_from_this()](
                                                             boost::system::error_code ec,
                                                             tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) {
            const auto limit =
                static_cast<std::size_t>(self->context_.config.terminal_listener.max_connections);
            if (*self->active_ >= limit) {
                log_warn("terminal", "max_connections (" + std::to_string(limit) +
                                         ") reached; refusing a connection");
                socket.close(ec);
            } else {
                ++*self->active_;
                std::shared_ptr<void> slot(nullptr, [active = self->active_](void*) { --*active; });
                socket.set_option(tcp::no_delay(true), ec);
                auto session = std::make_shared<TerminalSession>(std::move(socket), self->tls_,
                                                                 self->context_, std::move(slot));
                {
                    std::lock_guard lock(self->sessions_mutex_);
                    if (self->sessions_.size() > 2 * *self->active_ + 64) {
                        std::erase_if(self->sessions_, [](auto& w) { return w.expired(); });
                    }
                    self->sessions_.push_back(session);
                }
                session->start();
            }
        } else {
            log_warn("terminal", "accept failed: " + ec.message());
        }
        self->accept();
    });
}

}  // namespace huxiao::net
