#include "server/sessions/dc09_tcp_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/protocol/dc09.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"

namespace huxiao {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxOutbox = 256;  // answers; a panel that reads none is dropped
// Like the terminal protocol (contract §3): a sender that says nothing we
// understand ten times in a row is not a panel with a glitch.
constexpr int kMaxRefusedInARow = 10;
}  // namespace

Dc09TcpSession::Dc09TcpSession(asio::ip::tcp::socket socket, const Config& config,
                               Dc09Intake& intake, std::shared_ptr<void> connection_slot)
    : socket_(std::move(socket)),
      config_(config),
      intake_(intake),
      connection_slot_(std::move(connection_slot)),
      idle_(socket_.get_executor()),
      rate_(config.dc09_listener.max_frames_per_s, 2.0 * config.dc09_listener.max_frames_per_s) {
    boost::system::error_code ec;
    const auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? "tcp ?" : "tcp " + ep.address().to_string() + ":" + std::to_string(ep.port());
}

void Dc09TcpSession::start() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->arm_idle_timer();
        self->read();
    });
}

void Dc09TcpSession::stop() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void Dc09TcpSession::arm_idle_timer() {
    idle_.expires_after(std::chrono::seconds(config_.dc09_listener.idle_timeout_s));
    idle_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) return;
        if (self->idle_.expiry() <= std::chrono::steady_clock::now()) {
            log_info("dc09", self->peer_ + ": idle; closing");
            self->close();
        }
    });
}

void Dc09TcpSession::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    idle_.cancel();
}

void Dc09TcpSession::read() {
    if (closed_) return;
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                      boost::system::error_code ec, std::size_t n) {
        if (ec) {
            self->close();
            return;
        }
        self->on_read(n);
    });
}

void Dc09TcpSession::on_read(std::size_t n) {
    if (closed_) return;
    arm_idle_timer();
    buffer_.append(chunk_, n);
    const auto max = static_cast<std::size_t>(config_.dc09_listener.max_frame_bytes);
    for (auto cr = buffer_.find('\r'); cr != std::string::npos; cr = buffer_.find('\r')) {
        std::string frame = buffer_.substr(0, cr + 1);
        buffer_.erase(0, cr + 1);
        // Line noise before the <LF> is not part of the frame.
        if (const auto lf = frame.rfind('\n'); lf != std::string::npos && lf > 0) {
            frame.erase(0, lf);
        }
        if (frame.size() > max) {
            log_warn("dc09", peer_ + ": frame of " + std::to_string(frame.size()) +
                                 " bytes over max_frame_bytes; closing");
            intake_.dropped("too_large");
            close();
            return;
        }
        if (!rate_.take(system_now())) {
            // No answer: the panel retransmits later, when the rate allows.
            log_warn("dc09", peer_ + ": over max_frames_per_s; frame dropped unanswered");
            intake_.dropped("over_rate");
            continue;
        }
        const bool accepted = intake_.handle(
            frame, peer_,
            [weak = std::weak_ptr<Dc09TcpSession>(shared_from_this())](std::string r) {
                if (auto self = weak.lock()) {
                    asio::post(self->socket_.get_executor(),
                               [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
                }
            });
        refused_in_a_row_ = accepted ? 0 : refused_in_a_row_ + 1;
        if (refused_in_a_row_ >= kMaxRefusedInARow) {
            log_warn("dc09", peer_ + ": " + std::to_string(kMaxRefusedInARow) +
                                 " refused frames in a row; closing after the answers");
            // The last refusal's answer is posted to this strand already:
            // write_next() closes once it is out.
            close_when_written_ = true;
            return;  // reads no more
        }
    }
    if (buffer_.size() > max) {
        log_warn("dc09", peer_ + ": no <CR> within max_frame_bytes; closing");
        intake_.dropped("too_large");
        close();
        return;
    }
    read();
}

void Dc09TcpSession::send(std::string frame) {
    if (closed_) return;
    if (outbox_.size() >= kMaxOutbox) {
        log_warn("dc09", peer_ + ": does not read its answers; closing");
        close();
        return;
    }
    outbox_.push_back(std::move(frame));
    if (!writing_) write_next();
}

void Dc09TcpSession::write_next() {
    if (outbox_.empty() || closed_) {
        writing_ = false;
        if (close_when_written_) close();
        return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          if (ec) {
                              self->close();
                              return;
                          }
                          self->outbox_.pop_front();
                          self->write_next();
                      });
}

}  // namespace huxiao
