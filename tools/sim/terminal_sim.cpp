#include "tools/sim/terminal_sim.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <stdexcept>

#include "common/util/time.hpp"

namespace huxiao::sim {

namespace beast = boost::beast;
using nlohmann::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxLine = 64 * 1024;
constexpr auto kConnectTimeout = std::chrono::seconds(10);  // connect, TLS, hello → welcome
constexpr auto kUnavailableRetry = std::chrono::seconds(2);
constexpr int kMissedHeartbeats = 3;  // then the connection is given up

void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
}

}  // namespace

TerminalSim::TerminalSim(SimContext& ctx, std::string id, std::string school,
                         const std::filesystem::path& certs)
    : ctx_(ctx),
      id_(std::move(id)),
      school_(std::move(school)),
      tls_(ssl::context::tls_client),
      heartbeat_timer_(ctx.io),
      retry_timer_(ctx.io),
      backoff_timer_(ctx.io),
      reconnect_(ctx.servers.size(), {}) {
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    tls_.load_verify_file(ctx.server_ca);
    tls_.set_verify_mode(ssl::verify_peer);
    const auto cert = certs / "terminals" / (id_ + ".crt");
    const auto key = certs / "terminals" / (id_ + ".key");
    if (!std::filesystem::exists(cert) || !std::filesystem::exists(key)) {
        throw std::runtime_error("terminal " + id_ + ": no " + cert.string() +
                                 " / .key (config/dev-certs.sh makes them)");
    }
    try {
        tls_.use_certificate_chain_file(cert.string());
        tls_.use_private_key_file(key.string(), ssl::context::pem);
    } catch (const std::exception& e) {
        throw std::runtime_error("terminal " + id_ + ": " + cert.string() + ": " + e.what());
    }
}

void TerminalSim::start() { asio::co_spawn(ctx_.io, run(), rethrow); }

void TerminalSim::stop() {
    backoff_timer_.cancel();
    if (stream_) close_connection("stopping");
}

// ---- connection ------------------------------------------------------------

asio::awaitable<void> TerminalSim::run() {
    while (!ctx_.stopping) {
        const Outcome outcome = co_await session();
        if (ctx_.stopping) break;
        if (outcome.welcomed) {
            reconnect_.connected();
            last_problem_.clear();
        }
        report_problem(ctx_, id_, outcome.network, outcome.why, last_problem_);
        backoff_timer_.expires_after(reconnect_wait(ctx_, reconnect_));
        co_await backoff_timer_.async_wait(use_tuple);
    }
}

asio::awaitable<TerminalSim::Outcome> TerminalSim::session() {
    auto stream = std::make_shared<Stream>(ctx_.io, tls_);
    stream_ = stream;
    close_reason_.clear();
    read_buffer_.clear();
    auto& socket = beast::get_lowest_layer(*stream);

    // TCP, TLS with our certificate, hello → welcome, all within the timeout.
    socket.expires_after(kConnectTimeout);
    const ServerAddress& server = ctx_.servers[reconnect_.address()];
    stream->set_verify_callback(ssl::host_name_verification(server.host));
    auto [connect_error] = co_await socket.async_connect(server.terminal, use_tuple);
    if (connect_error) co_return ended(false, true, "connect: " + connect_error.message());
    // A copy of the last session: OpenSSL marks the session a connection used
    // as not resumable when that connection fails (the server hangs up after
    // the handshake, before any new ticket), and each later attempt would then
    // need a full handshake (docs/terminals.md).
    if (tls_session_) {
        if (SSL_SESSION* offer = SSL_SESSION_dup(tls_session_.get())) {
            SSL_set_session(stream->native_handle(), offer);
            SSL_SESSION_free(offer);
        }
    }
    auto [tls_error] = co_await stream->async_handshake(ssl::stream_base::client, use_tuple);
    if (tls_error) co_return ended(false, false, "TLS handshake: " + tls_error.message());
    if (SSL_session_reused(stream->native_handle()) == 1) ++ctx_.counters.tls_resumed;

    const std::string hello =
        json{{"type", "hello"}, {"terminal", id_}, {"proto", 1}, {"fw", "huxiao-sim"}}.dump() +
        "\n";
    auto [hello_error, hello_bytes] =
        co_await asio::async_write(*stream, asio::buffer(hello), use_tuple);
    if (hello_error) co_return ended(false, false, "hello: " + hello_error.message());

    auto [welcome_error, welcome_bytes] = co_await asio::async_read_until(
        *stream, asio::dynamic_buffer(read_buffer_, kMaxLine), '\n', use_tuple);
    if (welcome_error) co_return ended(false, false, "no welcome: " + welcome_error.message());
    const json welcome = json::parse(read_buffer_.substr(0, welcome_bytes - 1), nullptr, false);
    read_buffer_.erase(0, welcome_bytes);
    if (!welcome.is_object() || text_field(welcome, "type") != "welcome") {
        const std::string said =
            welcome.is_object() && text_field(welcome, "type") == "error"
                ? text_field(welcome, "code") + ": " + text_field(welcome, "message")
                : "an unexpected first frame";
        co_return ended(false, false, "the server refused us (" + said + ")");
    }
    socket.expires_never();

    online_ = true;
    if (ever_online_) ++ctx_.counters.reconnects;
    ever_online_ = true;
    last_heard_ = Clock::now();
    heartbeat_s_ = static_cast<int>(std::max(1LL, number_field(welcome, "heartbeat_s", 30)));
    heartbeat_after(heartbeat_s_);
    send_pending_alarms();  // alarms raised while offline, or not acknowledged before a drop

    // Read until the connection ends; writes go through send() meanwhile.
    std::string why;
    for (;;) {
        auto [read_error, n] = co_await asio::async_read_until(
            *stream, asio::dynamic_buffer(read_buffer_, kMaxLine), '\n', use_tuple);
        if (read_error) {
            why =
                close_reason_.empty() ? "connection lost: " + read_error.message() : close_reason_;
            break;
        }
        const std::string line = read_buffer_.substr(0, n - 1);
        read_buffer_.erase(0, n);
        last_heard_ = Clock::now();
        const json frame = json::parse(line, nullptr, false);
        if (!frame.is_object()) {
            say(id_ + " ignores a line that is not a JSON object: " + line);
            continue;
        }
        handle(frame);
    }
    co_return ended(true, true, why);
}

// Tidies up after a connection and says how it ended.
TerminalSim::Outcome TerminalSim::ended(bool welcomed, bool network, std::string why) {
    if (stream_ && welcomed) {
        // By now a TLS 1.3 ticket has arrived with the first frames. A copy:
        // OpenSSL marks the connection's own session not resumable when the
        // connection is freed without our close_notify, as here.
        SSL_SESSION* session = SSL_get_session(stream_->native_handle());
        if (session && SSL_SESSION_is_resumable(session) == 1) {
            if (SSL_SESSION* copy = SSL_SESSION_dup(session)) {
                tls_session_.reset(copy, SSL_SESSION_free);
            }
        }
    }
    if (stream_) {
        beast::get_lowest_layer(*stream_).close();
        stream_.reset();
    }
    online_ = false;
    outbox_.clear();
    writing_ = false;
    heartbeat_timer_.cancel();
    retry_timer_.cancel();
    return {welcomed, network, std::move(why)};
}

// Closing the socket ends the pending read; session() then tidies up.
void TerminalSim::close_connection(std::string why) {
    if (!stream_) return;
    close_reason_ = std::move(why);
    beast::get_lowest_layer(*stream_).close();
}

// ---- writing -----------------------------------------------------------------

// Lines are written one at a time, in order (TLS allows one write in flight).
void TerminalSim::send(std::string line) {
    if (!stream_) return;
    outbox_.push_back(std::move(line));
    if (!writing_) write_next();
}

void TerminalSim::write_next() {
    if (outbox_.empty()) {
        writing_ = false;
        return;
    }
    writing_ = true;
    // The line and the stream live in the handler, so that a connection that
    // ends meanwhile does not pull them from under the write.
    auto line = std::make_shared<std::string>(std::move(outbox_.front()));
    outbox_.pop_front();
    auto stream = stream_;
    asio::async_write(*stream, asio::buffer(*line),
                      [this, stream, line](boost::system::error_code ec, std::size_t) {
                          if (stream != stream_) return;  // that connection is gone
                          if (ec) return close_connection("write: " + ec.message());
                          write_next();
                      });
}

void TerminalSim::heartbeat_after(int seconds) {
    heartbeat_timer_.expires_after(std::chrono::seconds(seconds));
    heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !online_) return;
        if (Clock::now() - last_heard_ > std::chrono::seconds(kMissedHeartbeats * heartbeat_s_)) {
            return close_connection("no answer to " + std::to_string(kMissedHeartbeats) +
                                    " heartbeats");
        }
        send(json{{"type", "heartbeat"}, {"seq", ++heartbeat_seq_}}.dump() + "\n");
        heartbeat_after(heartbeat_s_);
    });
}

// ---- alarms ------------------------------------------------------------------

void TerminalSim::raise_alarm(const std::string& kind, bool drill, const std::string& note) {
    const std::string alarm_id = "A-" + ctx_.run_tag + "-" + std::to_string(++alarm_seq_);
    json frame{{"type", "alarm"},
               {"id", alarm_id},
               {"kind", kind},
               {"at", format_iso_millis(wall_now_micros())},
               {"drill", drill}};
    if (!note.empty()) frame["note"] = note;
    Alarm& alarm = pending_[alarm_id];
    alarm = Alarm{kind, drill, frame.dump() + "\n"};
    if (online_) send(alarm.frame);
}

void TerminalSim::send_pending_alarms() {
    for (const auto& [alarm_id, alarm] : pending_) send(alarm.frame);
}

void TerminalSim::retry_later() {
    retry_timer_.expires_after(kUnavailableRetry);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && online_) send_pending_alarms();
    });
}

// ---- what the server says ----------------------------------------------------

void TerminalSim::handle(const json& frame) {
    const std::string type = text_field(frame, "type");
    if (type == "ack") {
        on_ack(frame);
    } else if (type == "status") {
        on_status(frame);
    } else if (type == "error") {
        on_error(frame);
    } else if (type != "heartbeat_ack") {
        say(id_ + " ignores a frame of type \"" + type + "\"");
    }
}

void TerminalSim::on_ack(const json& frame) {
    const auto it = pending_.find(text_field(frame, "id"));
    if (it == pending_.end()) return;  // the ack of an alarm we sent twice
    const Alarm& alarm = it->second;
    const std::string incident = text_field(frame, "incident");
    // A second alarm while the school's incident is open joins it (contract §6).
    const bool joined = !open_incidents_.insert(incident).second;
    say(id_ + " alarm " + it->first + " (" + alarm.kind + (alarm.drill ? " drill" : "") + " at " +
        school_ + ") → ack " + incident + (joined ? " (joins the open incident)" : ""));
    ++ctx_.counters.alarms_acked;
    pending_.erase(it);
}

// e.g. "T-0007 status dispatched P-03 eta 240s (I-…)"
void TerminalSim::on_status(const json& frame) {
    const std::string state = text_field(frame, "state");
    const std::string incident = text_field(frame, "incident");
    std::string text = id_ + " status " + state;
    if (const std::string unit = text_field(frame, "unit"); !unit.empty()) text += " " + unit;
    if (const long long eta = number_field(frame, "eta_s", -1); eta >= 0) {
        text += " eta " + std::to_string(eta) + "s";
    }
    say(text + " (" + incident + ")");
    if (state == "resolved" || state == "cancelled") open_incidents_.erase(incident);
}

void TerminalSim::on_error(const json& frame) {
    const std::string code = text_field(frame, "code");
    const std::string ref = text_field(frame, "ref");
    const auto alarm = pending_.find(ref);
    if (code == "unavailable" && alarm != pending_.end()) {
        // Not durable yet: the contract says send it again (same id).
        say(id_ + " alarm " + ref + " → unavailable; sending it again in " +
            seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(kUnavailableRetry)));
        ++ctx_.counters.alarms_retried;
        retry_later();
        return;
    }
    say(id_ + " error " + code + ": " + text_field(frame, "message") +
        (ref.empty() ? "" : " (" + ref + ")"));
    // A malformed alarm would be refused again; anything else is sent again
    // after a reconnect.
    if (code == "bad_frame" && alarm != pending_.end()) pending_.erase(alarm);
}

}  // namespace huxiao::sim
