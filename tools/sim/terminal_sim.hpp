// One simulated school alarm terminal (contract §3): mutual TLS with the
// terminal's own client certificate, hello → welcome, heartbeats, alarms that
// are sent again until the server acknowledges them, and the status pushes
// of its school's incidents written to the log.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tools/sim/sim.hpp"

namespace huxiao::sim {

class TerminalSim {
  public:
    // Reads CERTS/terminals/<id>.crt and .key; throws when they are unusable.
    TerminalSim(SimContext& ctx, std::string id, std::string school,
                const std::filesystem::path& certs);

    const std::string& id() const { return id_; }
    bool online() const { return online_; }

    void start();  // connects, and reconnects with backoff until stop()
    void stop();

    // Sends an alarm with a new id; kept and sent again (same id, so the
    // server records it once) until acknowledged.
    void raise_alarm(const std::string& kind, bool drill, const std::string& note);

  private:
    using Stream = ssl::stream<boost::beast::tcp_stream>;

    struct Alarm {
        std::string kind;
        bool drill = false;
        std::string frame;  // the alarm line as first sent
    };

    // How a connection ended: whether the server had welcomed us, and why.
    struct Outcome {
        bool welcomed = false;
        bool network = false;  // refused or lost: the server is away, not just us
        std::string why;
    };

    asio::awaitable<void> run();
    // One connection, from TCP connect to its end.
    asio::awaitable<Outcome> session();
    Outcome ended(bool welcomed, bool network, std::string why);
    void handle(const nlohmann::json& frame);
    void on_ack(const nlohmann::json& frame);
    void on_status(const nlohmann::json& frame);
    void on_error(const nlohmann::json& frame);

    void send(std::string line);
    void write_next();
    void heartbeat_after(int seconds);
    void retry_later();
    void send_pending_alarms();
    void close_connection(std::string why);

    SimContext& ctx_;
    std::string id_;
    std::string school_;
    ssl::context tls_;
    std::shared_ptr<Stream> stream_;  // the current connection, if any
    // The TLS session of the last welcomed connection, offered on the next
    // one: a resumed handshake is far cheaper for the server when a whole
    // city reconnects at once (docs/terminals.md).
    std::shared_ptr<SSL_SESSION> tls_session_;
    bool online_ = false;  // welcomed and not yet disconnected
    bool ever_online_ = false;
    std::string last_problem_;  // the last problem logged: not logged again
    std::string close_reason_;  // why we closed the connection ourselves
    std::string read_buffer_;
    std::deque<std::string> outbox_;  // lines waiting to be written
    bool writing_ = false;
    int heartbeat_s_ = 30;
    std::uint64_t heartbeat_seq_ = 0;
    Clock::time_point last_heard_{};  // last frame from the server
    asio::steady_timer heartbeat_timer_;
    asio::steady_timer retry_timer_;  // resends alarms answered `unavailable`
    asio::steady_timer backoff_timer_;
    ReconnectPolicy reconnect_;
    int alarm_seq_ = 0;
    std::map<std::string, Alarm> pending_;  // alarm id → not yet acknowledged
    // Incidents of our acknowledged alarms, until resolved or cancelled.
    std::set<std::string> open_incidents_;
};

}  // namespace huxiao::sim
