#include "server/sessions/terminal_session.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "server/app/dispatcher.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"
#include "server/sessions/terminal_roster.hpp"
#include "server/sessions/tls.hpp"

namespace huxiao {

namespace asio = boost::asio;
using terminal::ErrorCode;
using terminal::ProtocolError;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
constexpr int kMaxBadFramesInARow = 10;
constexpr std::size_t kMaxOutbox = 1024;  // frames; a terminal that reads nothing is dropped
}  // namespace

TerminalSession::TerminalSession(asio::ip::tcp::socket socket,
                                 std::shared_ptr<asio::ssl::context> tls,
                                 TerminalSessionContext context,
                                 std::shared_ptr<ConnectionGate::Slot> slot,
                                 std::shared_ptr<TerminalRoster> roster)
    : tls_(std::move(tls)),
      stream_(std::move(socket), *tls_),
      ctx_(context),
      slot_(std::move(slot)),
      roster_(std::move(roster)),
      deadline_(stream_.get_executor()),
      write_signal_(stream_.get_executor()),
      rate_(context.config.terminal_listener.max_frames_per_s,
            2.0 * context.config.terminal_listener.max_frames_per_s) {
    boost::system::error_code ec;
    auto ep = stream_.next_layer().remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
}

TerminalSession::~TerminalSession() = default;

void TerminalSession::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(), [self]() { return self->run(); }, asio::detached);
}

void TerminalSession::send(std::string frame) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), frame = std::move(frame)]() mutable {
                   self->queue(std::move(frame));
               });
}

void TerminalSession::drain() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->draining_ = true; });
}

void TerminalSession::close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
        // The writer flushes what is queued, stops the reader and closes with
        // close_notify. A session still in its handshake is just closed.
        self->draining_ = true;
        if (self->stage_ == TimeoutStage::handshake) {
            self->close_socket();
            return;
        }
        self->closing_ = true;
        self->write_signal_.cancel();
    });
}

void TerminalSession::revoke() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
        self->send_error_and_close(
            ErrorCode::unknown_terminal,
            "terminal " + self->terminal_id_ + " is disabled, removed or moved to another school");
    });
}

void TerminalSession::queue(std::string frame) {
    if (closing_) return;
    if (outbox_.size() >= kMaxOutbox) {
        log_warn("terminal", terminal_id_ + " does not read its frames; closing");
        close_socket();
        return;
    }
    outbox_.push_back(std::move(frame));
    write_signal_.cancel();
}

void TerminalSession::arm_deadline(std::chrono::steady_clock::duration d,
                                   std::optional<TimeoutStage> stage) {
    stage_ = stage;
    deadline_.expires_after(d);
}

void TerminalSession::close_socket() {
    boost::system::error_code ignored;
    stream_.next_layer().close(ignored);
    closing_ = true;
    deadline_.cancel();
    write_signal_.cancel();
}

asio::awaitable<void> TerminalSession::watchdog(
    [[maybe_unused]] std::shared_ptr<TerminalSession> self) {
    // Closes the socket when the current deadline passes without being moved.
    while (stream_.next_layer().is_open()) {
        co_await deadline_.async_wait(use_tuple);
        if (deadline_.expiry() <= std::chrono::steady_clock::now()) {
            if (stage_) slot_->timed_out(*stage_);
            close_socket();
            co_return;
        }
    }
}

asio::awaitable<void> TerminalSession::write_loop(
    [[maybe_unused]] std::shared_ptr<TerminalSession> self) {
    for (;;) {
        while (!outbox_.empty() && stream_.next_layer().is_open()) {
            auto [ec, n] =
                co_await asio::async_write(stream_, asio::buffer(outbox_.front()), use_tuple);
            if (ec) {
                close_socket();
                co_return;
            }
            outbox_.pop_front();
        }
        if (closing_ || !stream_.next_layer().is_open()) break;
        co_await write_signal_.async_wait(use_tuple);
    }
    if (stream_.next_layer().is_open()) {
        // Stop the reader (no write is pending now), then the closing
        // handshake, bounded by the watchdog; it also gives the peer time to
        // read our last frames before the socket goes.
        boost::system::error_code ignored;
        stream_.next_layer().cancel(ignored);
        arm_deadline(std::chrono::seconds(2));
        co_await stream_.async_shutdown(use_tuple);
    }
    close_socket();
}

asio::awaitable<void> TerminalSession::run() {
    auto self = shared_from_this();
    const auto& cfg = ctx_.config.terminal_listener;
    arm_deadline(std::chrono::seconds(cfg.handshake_timeout_s), TimeoutStage::handshake);
    asio::co_spawn(stream_.get_executor(), watchdog(self), asio::detached);

    auto [hs_ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (hs_ec || closing_) {
        // Missing, foreign or expired certificates end here, with a TLS alert
        // that tells the terminal why.
        log_info("terminal", "TLS handshake from " + peer_ + " refused: " + hs_ec.message());
        close_socket();
        co_return;
    }
    arm_deadline(std::chrono::seconds(cfg.hello_timeout_s), TimeoutStage::hello);
    asio::co_spawn(stream_.get_executor(), write_loop(self), asio::detached);

    if (co_await await_hello()) {
        const auto idle = std::chrono::seconds(ctx_.config.supervision.heartbeat_s) *
                          ctx_.config.supervision.missed_heartbeats;
        const std::size_t max_line = static_cast<std::size_t>(cfg.max_frame_bytes) + 1;
        while (!closing_) {
            arm_deadline(idle);
            auto [ec, n] = co_await asio::async_read_until(
                stream_, asio::dynamic_buffer(buffer_, max_line), '\n', use_tuple);
            if (ec == asio::error::not_found) {
                send_error_and_close(
                    ErrorCode::frame_too_large,
                    "frame longer than " + std::to_string(cfg.max_frame_bytes) + " bytes");
                break;
            }
            if (ec || closing_) break;  // closing: e.g. revoked while this frame came in
            // Decoded in place: the frame's fields are copied out of it.
            handle_line(std::string_view(buffer_).substr(0, n - 1));
            buffer_.erase(0, n);
        }
    }
    if (online_) {
        ctx_.dispatcher.terminal_offline(self, school_);
        roster_->leave(terminal_id_, this);
        log_info("terminal", terminal_id_ + " disconnected");
    }
    closing_ = true;
    write_signal_.cancel();
}

asio::awaitable<bool> TerminalSession::await_hello() {
    const auto& cfg = ctx_.config.terminal_listener;
    const std::size_t max_line = static_cast<std::size_t>(cfg.max_frame_bytes) + 1;
    const std::optional<std::string> cn = peer_common_name(stream_.native_handle());
    for (;;) {
        auto [ec, n] = co_await asio::async_read_until(
            stream_, asio::dynamic_buffer(buffer_, max_line), '\n', use_tuple);
        if (ec == asio::error::not_found) {
            send_error_and_close(
                ErrorCode::frame_too_large,
                "frame longer than " + std::to_string(cfg.max_frame_bytes) + " bytes");
            co_return false;
        }
        if (ec) {
            if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
                log_info("terminal", "no hello from " + peer_ + " within " +
                                         std::to_string(cfg.hello_timeout_s) + " s; closed");
            }
            co_return false;
        }
        std::string line = buffer_.substr(0, n - 1);
        buffer_.erase(0, n);
        auto decoded = terminal::decode_terminal_frame(line);
        if (auto* error = std::get_if<ProtocolError>(&decoded)) {
            handle_error(*error);
            if (closing_) co_return false;
            continue;
        }
        auto* hello = std::get_if<terminal::Hello>(&std::get<terminal::Frame>(decoded));
        if (!hello) {
            send_error_and_close(ErrorCode::not_hello, "the first frame must be hello");
            co_return false;
        }
        auto registry = ctx_.registry.get();
        const Terminal* known = cn ? registry->terminal(*cn) : nullptr;
        if (!known || !known->enabled) {
            send_error_and_close(ErrorCode::unknown_terminal,
                                 "terminal \"" + cn.value_or("") + "\" is " +
                                     (known ? "disabled" : "not registered"));
            co_return false;
        }
        if (hello->terminal != *cn) {
            send_error_and_close(
                ErrorCode::identity_mismatch,
                "hello names \"" + hello->terminal + "\" but the certificate is \"" + *cn + "\"");
            co_return false;
        }
        if (!slot_->authenticate()) {
            send_error_and_close(ErrorCode::unavailable,
                                 "the server holds max_connections terminal sessions; retry later");
            co_return false;
        }
        terminal_id_ = *cn;
        school_ = known->school;
        online_ = true;
        for (auto& old : roster_->join(terminal_id_, shared_from_this())) {
            log_info("terminal",
                     terminal_id_ + ": a new session from " + peer_ + " replaces an older one");
            old->close();
        }
        queue(terminal::encode_welcome(ctx_.clock.now(), ctx_.config.supervision.heartbeat_s));
        ctx_.dispatcher.terminal_online(shared_from_this(), school_);
        // Whether terminals resume their TLS sessions decides what a
        // reconnect storm costs (docs/terminals.md): the log says it.
        SSL* ssl = stream_.native_handle();
        log_info("terminal", terminal_id_ + " online from " + peer_ + " over " +
                                 SSL_get_version(ssl) +
                                 (SSL_session_reused(ssl) == 1 ? " (session resumed)" : "") +
                                 (hello->fw.empty() ? "" : " fw " + hello->fw));
        co_return true;
    }
}

void TerminalSession::handle_line(std::string_view line) {
    const UnixMicros now = ctx_.clock.now();
    if (!rate_.take(now)) {
        ctx_.dispatcher.terminal_seen(terminal_id_, now);
        send_error_and_close(ErrorCode::rate_limited,
                             "more than " +
                                 std::to_string(ctx_.config.terminal_listener.max_frames_per_s) +
                                 " frames per second");
        return;
    }
    auto decoded = terminal::decode_terminal_frame(line);
    auto* frame_ptr = std::get_if<terminal::Frame>(&decoded);
    if (auto* alarm = frame_ptr && !draining_ ? std::get_if<terminal::Alarm>(frame_ptr) : nullptr) {
        // The hot path: one post to the dispatcher, which also marks the
        // terminal seen (docs/performance.md §4.5).
        bad_in_a_row_ = 0;
        ctx_.dispatcher.alarm(shared_from_this(), school_, std::move(*alarm), now);
        return;
    }
    ctx_.dispatcher.terminal_seen(terminal_id_, now);
    if (auto* error = std::get_if<ProtocolError>(&decoded)) {
        handle_error(*error);
        return;
    }
    bad_in_a_row_ = 0;
    auto& frame = *frame_ptr;
    if (draining_ && !std::holds_alternative<terminal::Heartbeat>(frame)) {
        // Not taken at all (no record, no dispatch): the terminal retries
        // with the same id, here after the restart or at another server.
        const auto* alarm = std::get_if<terminal::Alarm>(&frame);
        const auto* cancel = std::get_if<terminal::Cancel>(&frame);
        queue(terminal::encode_error({ErrorCode::unavailable,
                                      "the server is shutting down; retry with the same id",
                                      alarm    ? std::optional(alarm->id)
                                      : cancel ? std::optional(cancel->id)
                                               : std::nullopt}));
        return;
    }
    if (auto* hb = std::get_if<terminal::Heartbeat>(&frame)) {
        queue(terminal::encode_heartbeat_ack(hb->seq));
    } else if (auto* cancel = std::get_if<terminal::Cancel>(&frame)) {
        ctx_.dispatcher.cancel(shared_from_this(), school_, std::move(*cancel), now);
    } else {
        handle_error({ErrorCode::bad_frame, "hello was already received", std::nullopt});
    }
}

void TerminalSession::handle_error(const ProtocolError& error) {
    if (!terminal::keeps_connection(error.code)) {
        send_error_and_close(error.code, error.message, error.ref);
        return;
    }
    queue(terminal::encode_error(error));
    if (++bad_in_a_row_ >= kMaxBadFramesInARow) {
        log_info("terminal", (terminal_id_.empty() ? peer_ : terminal_id_) +
                                 ": 10 bad frames in a row; closing");
        closing_ = true;
        write_signal_.cancel();
    }
}

void TerminalSession::send_error_and_close(ErrorCode code, std::string message,
                                           std::optional<std::string> ref) {
    log_info("terminal", (terminal_id_.empty() ? peer_ : terminal_id_) + ": " +
                             std::string(terminal::to_string(code)) + ": " + message);
    queue(terminal::encode_error({code, std::move(message), std::move(ref)}));
    closing_ = true;
    write_signal_.cancel();
}

}  // namespace huxiao
