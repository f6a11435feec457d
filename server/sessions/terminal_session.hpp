// TerminalSession: one mutually authenticated TLS connection from a school
// alarm terminal (contract §3). It turns lines into frames and frames into
// calls on the Dispatcher, and writes whatever it is sent through one queue.
// It holds no dispatch state.
//
// Life of a session: TLS handshake within handshake_timeout_s (the terminal
// CA's signature is checked by OpenSSL), `hello` within hello_timeout_s naming
// the certificate's CN, `welcome`, then frames until the peer leaves, goes
// silent for missed_heartbeats heartbeats, or breaks a rule that closes the
// connection. Until the hello is accepted the session holds an
// unauthenticated place of the listener's ConnectionGate; after it, an
// authenticated one and a place in the TerminalRoster of its terminal id.
//
// Shutdown (contract §1) comes in two steps: drain() answers new alarms
// `unavailable` (the terminal retries elsewhere) while acks of alarms already
// committing still go out; close() then writes what is queued, sends TLS
// close_notify and closes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "common/util/token_bucket.hpp"
#include "server/app/registry_holder.hpp"
#include "server/app/terminal_port.hpp"
#include "server/sessions/connection_gate.hpp"
#include "server/sessions/tls_socket_stream.hpp"

namespace huxiao {

class Clock;
class Dispatcher;
class TerminalRoster;

struct TerminalSessionContext {
    const Config& config;
    Dispatcher& dispatcher;
    RegistryHolder& registry;
    const Clock& clock;  // receipt times, the welcome's server_time
};

class TerminalSession final : public TerminalPort,
                              public std::enable_shared_from_this<TerminalSession> {
  public:
    // TLS without Asio's per-connection record buffers: an idle terminal
    // costs what OpenSSL keeps (docs/performance.md §12).
    using Stream = TlsSocketStream;

    TerminalSession(boost::asio::ip::tcp::socket socket,
                    std::shared_ptr<boost::asio::ssl::context> tls, TerminalSessionContext context,
                    std::shared_ptr<ConnectionGate::Slot> connection_slot,
                    std::shared_ptr<TerminalRoster> roster);
    ~TerminalSession() override;

    void start();
    void send(std::string frame) override;  // thread-safe
    const std::string& terminal_id() const override { return terminal_id_; }
    void revoke() override;  // thread-safe
    void drain();            // thread-safe: new alarms and cancels are answered `unavailable`
    void close();            // thread-safe: flush the outbox, TLS close_notify, close

  private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> write_loop(std::shared_ptr<TerminalSession> self);
    boost::asio::awaitable<void> watchdog(std::shared_ptr<TerminalSession> self);
    void close_socket();
    boost::asio::awaitable<bool> await_hello();
    void handle_line(std::string_view line);
    void handle_error(const terminal::ProtocolError& error);
    void send_error_and_close(terminal::ErrorCode code, std::string message,
                              std::optional<std::string> ref = std::nullopt);
    void queue(std::string frame);
    void arm_deadline(std::chrono::steady_clock::duration d,
                      std::optional<TimeoutStage> stage = std::nullopt);

    // The context this session was made with: a certificate reload gives
    // new sessions another and leaves this one alone.
    std::shared_ptr<boost::asio::ssl::context> tls_;
    Stream stream_;
    TerminalSessionContext ctx_;
    // Released with the session: frees its place in the listener's budget.
    std::shared_ptr<ConnectionGate::Slot> slot_;
    std::shared_ptr<TerminalRoster> roster_;
    std::optional<TimeoutStage> stage_;  // what the running deadline bounds, for metrics
    boost::asio::steady_timer deadline_;
    boost::asio::steady_timer write_signal_;
    std::deque<std::string> outbox_;
    std::string buffer_;
    std::string terminal_id_;
    std::string school_;
    std::string peer_;
    TokenBucket rate_;
    int bad_in_a_row_ = 0;
    bool closing_ = false;   // no more reads; close once the outbox is written
    bool draining_ = false;  // the server is shutting down: take no new alarms
    bool online_ = false;
};

}  // namespace huxiao
