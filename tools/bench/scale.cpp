#include "tools/bench/scale.hpp"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/protocol/reconnect_policy.hpp"
#include "tools/bench/bench_util.hpp"
#include "tools/bench/load.hpp"

namespace huxiao::bench {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxLine = 64 * 1024;
constexpr auto kAttemptTimeout = std::chrono::seconds(10);

using Stream = ssl::stream<tcp::socket>;
using Strand = asio::strand<asio::io_context::executor_type>;

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

std::string text_field(const json& frame, const char* key) {
    const auto it = frame.find(key);
    return it != frame.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<asio::ip::address> source_addresses(const std::vector<std::string>& from) {
    std::vector<asio::ip::address> out;
    for (const auto& a : from) out.push_back(asio::ip::make_address(a));
    return out;
}

// Opens `socket` bound to `from` (when given) with the port left to connect():
// IP_BIND_ADDRESS_NO_PORT, so that 20,000 binds do not each reserve a port
// for any destination.
void open_from(tcp::socket& socket, const asio::ip::address* from) {
    socket.open(tcp::v4());
    if (!from) return;
    const int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(tcp::endpoint(*from, 0));
}

// Closes `stream`'s socket after kAttemptTimeout unless the guard is gone
// first: a bound on connect + handshake + hello against a server that
// stalls. The timer runs on the connection's strand; `armed` tells a
// handler that was already queued when the guard went away to do nothing.
struct AttemptGuard {
    AttemptGuard(Strand strand, Stream& stream) : timer(strand) {
        timer.expires_after(kAttemptTimeout);
        timer.async_wait([&stream, live = armed](boost::system::error_code ec) {
            if (ec || !*live) return;
            boost::system::error_code ignored;
            stream.next_layer().close(ignored);
        });
    }
    ~AttemptGuard() {
        *armed = false;
        timer.cancel();
    }
    std::shared_ptr<bool> armed = std::make_shared<bool>(true);
    asio::steady_timer timer;
};

// --- huxiao-bench scale -------------------------------------------------------

struct Terminal {
    Terminal(std::string terminal_id, Strand s, ReconnectPolicy::Limits backoff_limits,
             std::uint64_t seed)
        : id(std::move(terminal_id)),
          strand(s),
          wake(s),
          backoff(s),
          policy(1, backoff_limits),
          rng(seed) {}
    ~Terminal() {
        X509_free(cert);
        EVP_PKEY_free(key);
        if (session) SSL_SESSION_free(session);
    }
    std::string id;
    Strand strand;
    X509* cert = nullptr;
    EVP_PKEY* key = nullptr;
    SSL_SESSION* session = nullptr;  // of the last connection, offered on the next
    const asio::ip::address* from = nullptr;
    std::unique_ptr<Stream> stream;
    std::string buffer;
    asio::steady_timer wake;
    asio::steady_timer backoff;
    ReconnectPolicy policy;
    std::mt19937_64 rng;
    bool reading = false;
    int heartbeat_s = 30;
    std::uint64_t seq = 0;
    Clock::time_point next_heartbeat = Clock::time_point::max();
    // The storm alarm: due at, first sent at, acks received, retransmit at.
    Clock::time_point alarm_due = Clock::time_point::max();
    Clock::time_point alarm_first_sent{};
    Clock::time_point alarm_acked_at{};
    Clock::time_point retransmit_at = Clock::time_point::max();
    int alarm_acks = 0;
    int alarm_sends = 0;
    // Reconnect bookkeeping (read after the run): the first loss once every
    // terminal was connected (the restart), and the welcome after it.
    Clock::time_point restart_loss{};
    Clock::time_point restart_back{};
    int welcomes = 0;
    int resumed = 0;
    int failures = 0;
    std::map<std::string, int> errors;
};

class Scale {
  public:
    explicit Scale(const ScaleOptions& o)
        : o_(o), io_(o.threads), sources_(source_addresses(o.from)) {
        tls_.set_verify_mode(ssl::verify_peer);
        tls_.load_verify_file(o_.ca.string());
        // Idle terminals keep no 17 KB record buffers on this side either.
        SSL_CTX_set_mode(tls_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
        endpoint_ =
            tcp::endpoint(asio::ip::make_address(o_.host), static_cast<unsigned short>(o_.port));
        std::random_device seed;
        const ReconnectPolicy::Limits backoff_limits{
            std::chrono::milliseconds(o_.reconnect_first_ms),
            std::chrono::milliseconds(o_.reconnect_cap_ms)};
        for (int i = 0; i < o_.terminals; ++i) {
            auto t = std::make_unique<Terminal>(terminal_id(o_.prefix, i + 1),
                                                asio::make_strand(io_), backoff_limits,
                                                (static_cast<std::uint64_t>(seed()) << 32) ^ i);
            t->cert = read_cert(o_.certs / (t->id + ".crt"));
            t->key = read_key(o_.certs / (t->id + ".key"));
            if (!sources_.empty()) t->from = &sources_[i % sources_.size()];
            terminals_.push_back(std::move(t));
        }
    }

    std::string run(bool& complete) {
        for (auto& t : terminals_) asio::co_spawn(t->strand, terminal_main(*t), asio::detached);
        asio::co_spawn(asio::make_strand(io_), controller(), asio::detached);
        asio::co_spawn(asio::make_strand(io_), progress(), asio::detached);
        std::vector<std::thread> threads;
        for (int i = 1; i < o_.threads; ++i) threads.emplace_back([this] { io_.run(); });
        io_.run();
        for (auto& th : threads) th.join();
        return result(complete);
    }

  private:
    void log(const std::string& line) {
        std::fprintf(stderr, "huxiao-bench scale: %6.1f s %s\n",
                     seconds_between(start_, Clock::now()), line.c_str());
    }

    asio::awaitable<std::optional<std::string>> read_line(Terminal& t) {
        auto [ec, n] = co_await asio::async_read_until(
            *t.stream, asio::dynamic_buffer(t.buffer, kMaxLine), '\n', use_tuple);
        if (ec) co_return std::nullopt;
        std::string line = t.buffer.substr(0, n - 1);
        t.buffer.erase(0, n);
        co_return line;
    }

    // Connect, TLS (offering the last session), hello, welcome; "" or why not.
    asio::awaitable<std::string> connect(Terminal& t) {
        t.buffer.clear();
        t.stream = std::make_unique<Stream>(t.strand, tls_);
        SSL* handle = t.stream->native_handle();
        if (SSL_use_certificate(handle, t.cert) != 1 || SSL_use_PrivateKey(handle, t.key) != 1)
            co_return "certificate";
        // A copy of the last session: OpenSSL marks the session a connection
        // used as not resumable when that connection fails (a busy server
        // hanging up after the handshake, before any new ticket), and every
        // later attempt would then pay for a full handshake (docs/terminals.md).
        if (t.session) {
            if (SSL_SESSION* offer = SSL_SESSION_dup(t.session)) {
                SSL_set_session(handle, offer);
                SSL_SESSION_free(offer);
            }
        }
        t.stream->set_verify_callback(ssl::host_name_verification(o_.host));
        AttemptGuard guard(t.strand, *t.stream);
        try {
            open_from(t.stream->next_layer(), t.from);
        } catch (const boost::system::system_error&) {
            co_return "bind";
        }
        auto [cec] = co_await t.stream->next_layer().async_connect(endpoint_, use_tuple);
        if (cec) co_return "connect";
        boost::system::error_code ignored;
        t.stream->next_layer().set_option(tcp::no_delay(true), ignored);
        auto [hec] = co_await t.stream->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) co_return "handshake";
        const std::string hello =
            R"({"type":"hello","terminal":")" + t.id + R"(","proto":1,"fw":"huxiao-bench"})" + "\n";
        auto [wec, wn] = co_await asio::async_write(*t.stream, asio::buffer(hello), use_tuple);
        if (wec) co_return "hello";
        auto line = co_await read_line(t);
        if (!line) co_return "no welcome";
        auto frame = json::parse(*line, nullptr, false);
        if (frame.is_discarded() || !frame.is_object() || text_field(frame, "type") != "welcome") {
            co_return frame.is_object() && !text_field(frame, "code").empty()
                ? text_field(frame, "code")
                : "no welcome";
        }
        const auto hb = frame.find("heartbeat_s");
        if (hb != frame.end() && hb->is_number_integer() && hb->get<int>() > 0)
            t.heartbeat_s = hb->get<int>();
        if (SSL_session_reused(handle)) ++t.resumed;
        // By now the TLS 1.3 ticket has arrived (before the welcome). A copy:
        // OpenSSL marks the connection's own session not resumable when the
        // connection ends without a close_notify.
        SSL_SESSION* current = SSL_get_session(handle);
        if (current && SSL_SESSION_is_resumable(current) == 1) {
            if (SSL_SESSION* copy = SSL_SESSION_dup(current)) {
                if (t.session) SSL_SESSION_free(t.session);
                t.session = copy;
            }
        }
        co_return "";
    }

    void drop(Terminal& t) {
        if (!t.stream) return;
        boost::system::error_code ignored;
        t.stream->next_layer().close(ignored);
    }

    asio::awaitable<void> reader(Terminal& t) {
        while (auto line = co_await read_line(t)) {
            auto frame = json::parse(*line, nullptr, false);
            if (frame.is_discarded() || !frame.is_object()) continue;
            const std::string type = text_field(frame, "type");
            if (type == "ack" && text_field(frame, "id") == o_.alarm_id) {
                if (++t.alarm_acks == 1) {
                    t.alarm_acked_at = Clock::now();
                    t.retransmit_at = Clock::time_point::max();
                    ++storm_acked_;
                } else {
                    ++storm_doubled_;
                }
            } else if (type == "error") {
                const std::string code = text_field(frame, "code");
                ++t.errors[code.empty() ? "(none)" : code];
                if (code == "unavailable" && text_field(frame, "ref") == o_.alarm_id &&
                    t.alarm_acks == 0) {
                    // Not durable yet: the same frame again after 1-2 s (docs/terminals.md).
                    std::uniform_int_distribution<int> ms(1000, 2000);
                    t.retransmit_at = Clock::now() + std::chrono::milliseconds(ms(t.rng));
                    t.wake.cancel();
                }
            }
        }
        t.reading = false;
        t.wake.cancel();
    }

    // Heartbeats and the storm alarm, until the reader sees the connection end.
    asio::awaitable<void> writer(Terminal& t) {
        while (t.reading) {
            Clock::time_point next = t.next_heartbeat;
            if (t.alarm_acks == 0 && t.alarm_sends == 0) next = std::min(next, t.alarm_due);
            if (t.alarm_acks == 0) next = std::min(next, t.retransmit_at);
            t.wake.expires_at(next);
            co_await t.wake.async_wait(use_tuple);
            if (!t.reading) break;
            const auto now = Clock::now();
            std::string out;
            const bool alarm_now =
                t.alarm_acks == 0 &&
                ((t.alarm_sends == 0 && now >= t.alarm_due) || now >= t.retransmit_at);
            if (alarm_now) {
                if (t.alarm_sends++ == 0) t.alarm_first_sent = now;
                t.retransmit_at = Clock::time_point::max();
                out += R"({"type":"alarm","id":")" + o_.alarm_id + R"(","kind":")" + o_.kind +
                       R"(","note":"huxiao-bench scale"})" + "\n";
            }
            if (now >= t.next_heartbeat) {
                out += R"({"type":"heartbeat","seq":)" + std::to_string(++t.seq) + "}\n";
                t.next_heartbeat = now + std::chrono::seconds(t.heartbeat_s);
            }
            if (out.empty()) continue;
            auto [ec, n] = co_await asio::async_write(*t.stream, asio::buffer(out), use_tuple);
            if (ec) drop(t);  // the reader ends and so does this loop
        }
    }

    asio::awaitable<void> terminal_main(Terminal& t) {
        while (!stopping_.load()) {
            const std::string error = co_await connect(t);
            if (!error.empty()) {
                ++t.failures;
                ++failed_attempts_;
                ++t.errors[error];
                drop(t);
                t.stream.reset();
                if (stopping_.load()) break;
                std::uniform_real_distribution<double> unit(0.0, 1.0);
                t.backoff.expires_after(t.policy.failed(unit(t.rng)));
                co_await t.backoff.async_wait(use_tuple);
                continue;
            }
            t.policy.connected();
            ++t.welcomes;
            const auto welcomed = Clock::now();
            if (t.restart_loss != Clock::time_point{} && t.restart_back == Clock::time_point{}) {
                t.restart_back = welcomed;
                ++back_;
            }
            ++online_;
            // An alarm sent on a connection that was lost before its ack goes again.
            if (t.alarm_sends > 0 && t.alarm_acks == 0) t.retransmit_at = welcomed;
            t.next_heartbeat = welcomed + std::chrono::seconds(t.heartbeat_s);
            t.reading = true;
            asio::co_spawn(t.strand, reader(t), asio::detached);
            co_await writer(t);
            --online_;
            if (restart_phase_.load() && t.restart_loss == Clock::time_point{}) {
                t.restart_loss = Clock::now();
                ++lost_;
            }
            drop(t);
            t.stream.reset();
            if (stopping_.load()) break;
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            t.backoff.expires_after(t.policy.failed(unit(t.rng)));
            co_await t.backoff.async_wait(use_tuple);
        }
        ++finished_;
    }

    // Waits (polling every 20 ms) until `done` or `timeout`; false on timeout.
    template <typename F>
    asio::awaitable<bool> until(F done, double timeout_s) {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(timeout_s));
        while (!done()) {
            if (Clock::now() >= deadline) co_return false;
            tick.expires_after(std::chrono::milliseconds(20));
            co_await tick.async_wait(use_tuple);
        }
        co_return true;
    }

    // Every 5 s on stderr: how many are connected (and back after the
    // restart) and how many attempts failed since the last line; it shows
    // where a slow connect or reconnect spends its time.
    asio::awaitable<void> progress() {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        std::uint64_t failed_before = 0;
        while (!stopping_.load()) {
            tick.expires_after(std::chrono::seconds(5));
            co_await tick.async_wait(use_tuple);
            const std::uint64_t failed = failed_attempts_.load();
            log("online " + std::to_string(online_.load()) + ", back " +
                std::to_string(back_.load()) + ", failed attempts +" +
                std::to_string(failed - failed_before));
            failed_before = failed;
        }
    }

    asio::awaitable<void> controller() {
        const int n = o_.terminals;
        log("connecting " + std::to_string(n) + " terminals");
        connected_ = co_await until([&] { return online_.load() == n; }, o_.connect_timeout_s);
        connect_s_ = seconds_between(start_, Clock::now());
        log(connected_ ? "all connected" : "not all connected: " + std::to_string(online_.load()));
        if (connected_) {
            if (!o_.ready_file.empty()) std::ofstream(o_.ready_file) << "ready\n";
            // Phase 2: the script restarts the server; every terminal must come back.
            restart_phase_ = true;
            if (co_await until([&] { return lost_.load() > 0; }, o_.restart_wait_s)) {
                log("connections lost; reconnecting");
                all_back_ =
                    co_await until([&] { return back_.load() == n; }, o_.reconnect_timeout_s);
                log(all_back_ ? "all back" : "not all back: " + std::to_string(back_.load()));
            } else {
                log("the server was not restarted");
            }
            restart_phase_ = false;
        }
        if (all_back_ && o_.storm > 0) {
            // Phase 3: the storm. Alarms leave evenly over storm_spread_s.
            const int storm = std::min(o_.storm, n);
            const auto begin = Clock::now() + std::chrono::milliseconds(200);
            for (int i = 0; i < storm; ++i) {
                Terminal& t = *terminals_[i];
                const auto due =
                    begin + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(o_.storm_spread_s * i / storm));
                asio::post(t.strand, [&t, due] {
                    t.alarm_due = due;
                    t.wake.cancel();
                });
            }
            log("storm: " + std::to_string(storm) + " alarms");
            storm_done_ =
                co_await until([&] { return storm_acked_.load() == storm; }, o_.storm_timeout_s);
            // Late doubles would show in the next second.
            asio::steady_timer settle(co_await asio::this_coro::executor);
            settle.expires_after(std::chrono::seconds(1));
            co_await settle.async_wait(use_tuple);
            log("storm: " + std::to_string(storm_acked_.load()) + " acked");
        }
        stopping_ = true;
        for (auto& tp : terminals_) {
            Terminal& t = *tp;
            asio::post(t.strand, [this, &t] {
                drop(t);
                t.backoff.cancel();
            });
        }
        co_await until([&] { return finished_.load() == n; }, 30);
        io_.stop();
    }

    std::string result(bool& complete) {
        std::uint64_t welcomes = 0, resumed = 0, failures = 0;
        std::map<std::string, std::uint64_t> errors;
        std::vector<std::int64_t> ack_us;
        int storm_sent = 0, retransmitted = 0;
        // The reconnect: from the first connection lost in the restart to
        // the last terminal's welcome after it.
        Clock::time_point first_loss = Clock::time_point::max();
        Clock::time_point last_back{};
        for (auto& tp : terminals_) {
            const Terminal& t = *tp;
            welcomes += t.welcomes;
            resumed += t.resumed;
            failures += t.failures;
            for (const auto& [code, count] : t.errors) errors[code] += count;
            if (t.restart_loss != Clock::time_point{})
                first_loss = std::min(first_loss, t.restart_loss);
            last_back = std::max(last_back, t.restart_back);
            if (t.alarm_sends > 0) {
                ++storm_sent;
                if (t.alarm_sends > 1) ++retransmitted;
                if (t.alarm_acks > 0)
                    ack_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                                         t.alarm_acked_at - t.alarm_first_sent)
                                         .count());
            }
        }
        std::sort(ack_us.begin(), ack_us.end());
        const int storm = all_back_ ? std::min(o_.storm, o_.terminals) : 0;
        const auto seconds_of = [&](double p) {
            return ack_us.empty() ? -1.0 : round3(percentile(ack_us, p / 100) / 1e6);
        };
        json r = {
            {"terminals", o_.terminals},
            {"connected", connected_},
            {"connect_s", round3(connect_s_)},
            {"all_back", all_back_},
            {"reconnect_s", all_back_ ? round3(seconds_between(first_loss, last_back)) : -1.0},
            {"welcomes", welcomes},
            {"resumed", resumed},
            {"failed_attempts", failures},
            {"errors", errors},
            {"storm", storm},
            {"storm_sent", storm_sent},
            {"storm_acked", storm_acked_.load()},
            {"storm_lost", storm - storm_acked_.load()},
            {"storm_doubled", storm_doubled_.load()},
            {"storm_retransmitted", retransmitted},
            {"storm_ack_p50_s", seconds_of(50)},
            {"storm_ack_p99_s", seconds_of(99)},
            {"storm_ack_max_s",
             ack_us.empty() ? -1.0 : round3(static_cast<double>(ack_us.back()) / 1e6)},
            {"client_cpu_s", round3(cpu_seconds())}};
        complete = connected_ && all_back_ && storm_done_ && storm_doubled_.load() == 0;
        return r.dump();
    }

  private:
    const ScaleOptions& o_;
    asio::io_context io_;
    ssl::context tls_{ssl::context::tls_client};
    tcp::endpoint endpoint_;
    std::vector<asio::ip::address> sources_;
    std::vector<std::unique_ptr<Terminal>> terminals_;
    const Clock::time_point start_ = Clock::now();
    std::atomic<int> online_{0};
    std::atomic<std::uint64_t> failed_attempts_{0};
    std::atomic<bool> restart_phase_{false};
    std::atomic<int> lost_{0};  // terminals that lost their connection in the restart
    std::atomic<int> back_{0};  // ... and are back
    std::atomic<int> finished_{0};
    std::atomic<int> storm_acked_{0};
    std::atomic<int> storm_doubled_{0};
    std::atomic<bool> stopping_{false};
    bool connected_ = false;
    bool all_back_ = false;
    bool storm_done_ = false;
    double connect_s_ = 0;
};

// --- huxiao-bench scale-handshakes ---------------------------------------------

struct Worker {
    explicit Worker(Strand s) : strand(s) {}
    ~Worker() {
        X509_free(cert);
        EVP_PKEY_free(key);
        if (session) SSL_SESSION_free(session);
    }
    Strand strand;
    X509* cert = nullptr;
    EVP_PKEY* key = nullptr;
    SSL_SESSION* session = nullptr;  // the last ticket the server sent
    const asio::ip::address* from = nullptr;
    std::unique_ptr<Stream> stream;
    bool got_ticket = false;
    std::uint64_t full = 0;
    std::uint64_t resumed = 0;
    std::uint64_t failed = 0;
    std::uint64_t no_ticket = 0;
};

int worker_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// OpenSSL hands the client each session ticket the server sends after the
// handshake. The first one means the server is done with this handshake:
// keep it for resumption and stop waiting (cancel the read).
int on_new_session(SSL* handle, SSL_SESSION* session) {
    auto* w = static_cast<Worker*>(SSL_get_ex_data(handle, worker_index()));
    if (!w) return 0;
    // A copy: OpenSSL marks the connection's own session not resumable when
    // the connection is freed without a close_notify, as here.
    if (SSL_SESSION* copy = SSL_SESSION_dup(session)) {
        if (w->session) SSL_SESSION_free(w->session);
        w->session = copy;
    }
    if (!w->got_ticket) {
        w->got_ticket = true;
        asio::post(w->strand, [w] {
            boost::system::error_code ignored;
            if (w->stream) w->stream->next_layer().cancel(ignored);
        });
    }
    return 0;  // OpenSSL keeps (and drops) its own reference
}

class Handshakes {
  public:
    explicit Handshakes(const HandshakeOptions& o)
        : o_(o), io_(o.threads), sources_(source_addresses(o.from)) {
        tls_.set_verify_mode(ssl::verify_peer);
        tls_.load_verify_file(o_.ca.string());
        SSL_CTX* ctx = tls_.native_handle();
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, &on_new_session);
        endpoint_ =
            tcp::endpoint(asio::ip::make_address(o_.host), static_cast<unsigned short>(o_.port));
        for (int i = 0; i < o_.concurrency; ++i) {
            auto w = std::make_unique<Worker>(asio::make_strand(io_));
            const std::string id = terminal_id(o_.prefix, 1 + i % std::max(1, o_.terminals));
            w->cert = read_cert(o_.certs / (id + ".crt"));
            w->key = read_key(o_.certs / (id + ".key"));
            if (!sources_.empty()) w->from = &sources_[i % sources_.size()];
            workers_.push_back(std::move(w));
        }
    }

    std::string run() {
        const auto d = [](double s) {
            return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
        };
        window_start_ = Clock::now() + d(o_.warmup_s);
        window_end_ = window_start_ + d(o_.duration_s);
        const double cpu_before = cpu_seconds();
        for (auto& w : workers_) asio::co_spawn(w->strand, worker_main(*w), asio::detached);
        std::vector<std::thread> threads;
        for (int i = 1; i < o_.threads; ++i) threads.emplace_back([this] { io_.run(); });
        io_.run();
        for (auto& th : threads) th.join();
        const double cpu = cpu_seconds() - cpu_before;
        std::uint64_t full = 0, resumed = 0, failed = 0, no_ticket = 0;
        for (const auto& w : workers_) {
            full += w->full;
            resumed += w->resumed;
            failed += w->failed;
            no_ticket += w->no_ticket;
        }
        json r = {{"label", o_.label},
                  {"resume", o_.resume},
                  {"concurrency", o_.concurrency},
                  {"duration_s", o_.duration_s},
                  {"full", full},
                  {"resumed", resumed},
                  {"full_per_s", round3(static_cast<double>(full) / o_.duration_s)},
                  {"resumed_per_s", round3(static_cast<double>(resumed) / o_.duration_s)},
                  {"failed", failed},
                  {"no_ticket", no_ticket},
                  {"client_cpu_s", round3(cpu)}};
        return r.dump();
    }

  private:
    asio::awaitable<void> worker_main(Worker& w) {
        while (Clock::now() < window_end_) {
            w.got_ticket = false;
            w.stream = std::make_unique<Stream>(w.strand, tls_);
            SSL* handle = w.stream->native_handle();
            SSL_use_certificate(handle, w.cert);
            SSL_use_PrivateKey(handle, w.key);
            SSL_set_ex_data(handle, worker_index(), &w);
            if (o_.resume && w.session) SSL_set_session(handle, w.session);
            w.stream->set_verify_callback(ssl::host_name_verification(o_.host));
            bool ok = false;
            bool reused = false;
            {
                AttemptGuard guard(w.strand, *w.stream);
                try {
                    open_from(w.stream->next_layer(), w.from);
                    auto [cec] =
                        co_await w.stream->next_layer().async_connect(endpoint_, use_tuple);
                    if (!cec) {
                        auto [hec] =
                            co_await w.stream->async_handshake(ssl::stream_base::client, use_tuple);
                        if (!hec) {
                            reused = SSL_session_reused(handle) == 1;
                            // Wait for the ticket (the callback cancels this read).
                            char byte = 0;
                            co_await w.stream->async_read_some(asio::buffer(&byte, 1), use_tuple);
                            ok = w.got_ticket;
                            if (!ok) ++w.no_ticket;
                        }
                    }
                } catch (const boost::system::system_error&) {
                }
            }
            boost::system::error_code ignored;
            w.stream->next_layer().close(ignored);
            SSL_set_ex_data(handle, worker_index(), nullptr);
            const auto now = Clock::now();
            if (now >= window_start_ && now < window_end_) {
                if (!ok)
                    ++w.failed;
                else if (reused)
                    ++w.resumed;
                else
                    ++w.full;
            }
            if (!ok) {
                asio::steady_timer pause(w.strand, std::chrono::milliseconds(10));
                co_await pause.async_wait(use_tuple);
            }
        }
        w.stream.reset();
    }

    const HandshakeOptions& o_;
    asio::io_context io_;
    ssl::context tls_{ssl::context::tls_client};
    tcp::endpoint endpoint_;
    std::vector<asio::ip::address> sources_;
    std::vector<std::unique_ptr<Worker>> workers_;
    Clock::time_point window_start_;
    Clock::time_point window_end_;
};

}  // namespace

std::string run_scale(const ScaleOptions& options, bool& complete) {
    Scale scale(options);
    return scale.run(complete);
}

std::string run_handshakes(const HandshakeOptions& options) {
    Handshakes handshakes(options);
    return handshakes.run();
}

}  // namespace huxiao::bench
