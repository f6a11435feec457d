#include "server/net/dc09_listener.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <stdexcept>

#include "server/base/clock.hpp"
#include "server/base/log.hpp"
#include "server/sessions/connection_gate.hpp"
#include "server/sessions/dc09_tcp_session.hpp"

namespace huxiao::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {
constexpr std::size_t kMaxUdpSenders = 10000;  // rate buckets kept; cleared when exceeded
}

Dc09Listener::Dc09Listener(asio::any_io_executor executor, const Config& config, Dc09Intake& intake)
    : executor_(executor),
      config_(config),
      intake_(intake),
      acceptor_(asio::make_strand(executor)),
      udp_(std::make_shared<udp::socket>(asio::make_strand(executor))),
      backoff_(acceptor_.get_executor()) {
    // A panel has no authentication step on the connection (each frame is
    // checked on its own): every connection counts as unauthenticated.
    const auto limit = static_cast<std::size_t>(config.dc09_listener.max_connections);
    gate_ = std::make_shared<ConnectionGate>(
        "dc09", ConnectionLimits{limit, std::min(limit, kMaxTcpPerAddress), limit});
}

std::size_t Dc09Listener::connections() const { return gate_->unauthenticated(); }

void Dc09Listener::open() {
    const auto& c = config_.dc09_listener;
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(c.address, ec);
    if (ec) {
        throw std::runtime_error("dc09_listener.address: \"" + c.address +
                                 "\" is not an IP address");
    }
    // With port 0 the TCP port is chosen first and UDP takes the same number;
    // if that UDP port is taken, try again with another.
    for (int attempt = 0;; ++attempt) {
        unsigned short port = static_cast<unsigned short>(c.port);
        if (c.tcp) {
            const tcp::endpoint ep(ip, port);
            acceptor_.open(ep.protocol());
            acceptor_.set_option(asio::socket_base::reuse_address(true));
            acceptor_.bind(ep, ec);
            if (ec) {
                throw std::runtime_error("dc09_listener: cannot bind tcp " + c.address + ":" +
                                         std::to_string(c.port) + ": " + ec.message());
            }
            acceptor_.listen(asio::socket_base::max_listen_connections);
            port = acceptor_.local_endpoint().port();
        }
        if (c.udp) {
            const udp::endpoint ep(ip, port);
            udp_->open(ep.protocol());
            udp_->bind(ep, ec);
            if (ec && c.port == 0 && c.tcp && attempt < 20) {
                boost::system::error_code ignored;
                acceptor_.close(ignored);
                udp_->close(ignored);
                continue;
            }
            if (ec) {
                throw std::runtime_error("dc09_listener: cannot bind udp " + c.address + ":" +
                                         std::to_string(port) + ": " + ec.message());
            }
            port = udp_->local_endpoint().port();
        }
        port_ = port;
        return;
    }
}

void Dc09Listener::start() {
    if (acceptor_.is_open()) accept();
    if (udp_->is_open()) {
        asio::post(udp_->get_executor(), [self = shared_from_this()] { self->receive_datagram(); });
    }
}

void Dc09Listener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->backoff_.cancel();
    });
    asio::post(udp_->get_executor(), [udp = udp_] {
        boost::system::error_code ignored;
        udp->close(ignored);
    });
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_) {
        if (auto s = weak.lock()) s->stop();
    }
}

void Dc09Listener::accept() {
    acceptor_.async_accept(
        asio::make_strand(executor_),
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
            if (ec) {
                log_warn("dc09", "accept failed: " + ec.message());
                const AcceptError kind = classify_accept_error(ec);
                self->gate_->accept_failed(kind);
                if (kind != AcceptError::other) {
                    // Out of file descriptors (the process's or the system's):
                    // wait instead of spinning.
                    self->backoff_.expires_after(std::chrono::milliseconds(200));
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
                // Refusal counted by the gate (huxiao_connections_refused_total{listener="dc09"}).
                socket.close(ignored);
                self->accept();
                return;
            }
            auto session = std::make_shared<Dc09TcpSession>(std::move(socket), self->config_,
                                                            self->intake_, std::move(slot));
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

void Dc09Listener::receive_datagram() {
    const auto max = static_cast<std::size_t>(config_.dc09_listener.max_frame_bytes);
    datagram_.resize(max + 1);  // one more: tells an oversized datagram from a full one
    udp_->async_receive_from(
        asio::buffer(datagram_), sender_,
        [self = shared_from_this(), max](boost::system::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted || !self->udp_->is_open()) return;
            if (!ec) {
                const udp::endpoint to = self->sender_;
                const std::string peer =
                    "udp " + to.address().to_string() + ":" + std::to_string(to.port());
                auto& rates = self->udp_rates_;
                if (rates.size() > kMaxUdpSenders) rates.clear();
                const int rate = self->config_.dc09_listener.max_frames_per_s;
                auto& bucket =
                    rates.try_emplace(to.address().to_string(), rate, 2.0 * rate).first->second;
                if (n > max) {
                    log_warn("dc09", peer + ": datagram over max_frame_bytes ignored");
                    self->intake_.dropped("too_large");
                } else if (!bucket.take(system_now())) {
                    log_warn("dc09", peer + ": over max_frames_per_s; datagram dropped");
                    self->intake_.dropped("over_rate");
                } else {
                    self->intake_.handle(
                        std::string_view(self->datagram_.data(), n), peer,
                        [udp = self->udp_, to](std::string response) {
                            auto data = std::make_shared<std::string>(std::move(response));
                            asio::post(udp->get_executor(), [udp, to, data] {
                                udp->async_send_to(
                                    asio::buffer(*data), to,
                                    [data](boost::system::error_code, std::size_t) {});
                            });
                        });
                }
            } else {
                log_warn("dc09", "udp receive failed: " + ec.message());
            }
            self->receive_datagram();
        });
}

}  // namespace huxiao::net
