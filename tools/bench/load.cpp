#include "tools/bench/load.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/protocol/reconnect_policy.hpp"
#include "common/util/time.hpp"
#include "tools/bench/bench_util.hpp"

namespace huxiao::bench {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;

std::int64_t to_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// A string field of a frame, "" when missing or not a string (never throws).
std::string text_field(const json& frame, const char* key) {
    const auto it = frame.find(key);
    return it != frame.end() && it->is_string() ? it->get<std::string>() : std::string();
}

using Stream = ssl::stream<tcp::socket>;
using Strand = asio::strand<asio::io_context::executor_type>;

// Everything a terminal counts; touched only on its strand, read after the run.
struct Stats {
    std::uint64_t acks = 0;  // in the window
    std::uint64_t acks_total = 0;
    std::uint64_t sent = 0;
    std::uint64_t retransmissions = 0;
    std::uint64_t failed = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t unacked_at_stop = 0;
    std::map<std::string, std::uint64_t> errors;
    std::vector<std::int64_t> latencies_us;  // acks in the window
};

struct Terminal {
    Terminal(std::string terminal_id, Strand s, std::size_t servers, ReconnectPolicy::Limits limits,
             unsigned seed)
        : id(std::move(terminal_id)),
          strand(s),
          start_signal(s),
          pause(s),
          reconnect(servers, limits),
          random(seed) {
        start_signal.expires_at(Clock::time_point::max());
    }
    ~Terminal() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    std::string id;
    Strand strand;
    X509* cert = nullptr;
    EVP_PKEY* key = nullptr;
    std::unique_ptr<Stream> stream;
    std::string buffer;
    asio::steady_timer start_signal;
    asio::steady_timer pause;
    // When the operation in progress (connect+hello, or alarm -> ack) began,
    // in steady-clock ns; 0 when idle. Read by the watchdog.
    std::atomic<std::int64_t> busy_since{0};
    bool timed_out = false;
    std::string connect_error;
    ReconnectPolicy reconnect;  // which server next, and how long to wait first
    std::minstd_rand random;
    Stats stats;
};

class Load {
  public:
    explicit Load(const LoadOptions& options) : o_(options), io_(options.threads) {
        tls_.set_verify_mode(ssl::verify_peer);
        tls_.load_verify_file(o_.ca.string());
        for (const ServerEndpoint& server : o_.servers) {
            endpoints_.emplace_back(asio::ip::make_address(server.host),
                                    static_cast<unsigned short>(server.port));
        }
        if (!o_.ack_log.empty()) {
            ack_log_ = std::fopen(o_.ack_log.c_str(), "w");
            if (!ack_log_) throw std::runtime_error("cannot write " + o_.ack_log.string());
        }
        // Unique per run, so that alarm ids never repeat on the same database.
        tag_ = std::to_string(wall_now() / 1000);
        tag_.insert(0, 1, 'b');
        tag_ += 'p';
        tag_ += std::to_string(::getpid());
        for (int i = 0; i < o_.terminals; ++i) {
            auto t = std::make_unique<Terminal>(
                terminal_id(o_.prefix, o_.first + i), asio::make_strand(io_), endpoints_.size(),
                ReconnectPolicy::Limits{std::chrono::milliseconds(o_.reconnect_first_ms),
                                        std::chrono::milliseconds(o_.reconnect_cap_ms)},
                static_cast<unsigned>(::getpid()) * 7919u + static_cast<unsigned>(i));
            t->cert = read_cert(o_.certs / (t->id + ".crt"));
            t->key = read_key(o_.certs / (t->id + ".key"));
            terminals_.push_back(std::move(t));
        }
    }

    LoadResult run() {
        for (auto& t : terminals_) {
            asio::co_spawn(t->strand, terminal_main(*t), asio::detached);
        }
        auto control = asio::make_strand(io_);
        // SIGINT or SIGTERM ends the measured window early (with --duration 0
        // it is the only end); the terminals still finish their alarms.
        asio::signal_set signals(control, SIGINT, SIGTERM);
        signals.async_wait([this](const boost::system::error_code& ec, int) {
            if (!ec) interrupted_ = true;
        });
        asio::co_spawn(control, controller(), [&signals](std::exception_ptr) {
            boost::system::error_code ignored;
            signals.cancel(ignored);
        });
        std::vector<std::thread> threads;
        for (int i = 1; i < o_.threads; ++i) threads.emplace_back([this] { io_.run(); });
        io_.run();
        for (auto& th : threads) th.join();
        if (ack_log_) std::fclose(ack_log_);
        ack_log_ = nullptr;
        return collect();
    }

    bool finished_cleanly() const {
        return finished_.load() == static_cast<int>(terminals_.size());
    }

  private:
    void begin(Terminal& t) { t.busy_since.store(to_ns(Clock::now()), std::memory_order_relaxed); }
    void end(Terminal& t) { t.busy_since.store(0, std::memory_order_relaxed); }

    void drop(Terminal& t) {
        if (t.stream) {
            boost::system::error_code ignored;
            t.stream->next_layer().close(ignored);
            t.stream.reset();
        }
        t.buffer.clear();
    }

    void broken(Terminal& t) {
        if (t.timed_out) {
            ++t.stats.timeouts;
        } else {
            ++t.stats.disconnects;
        }
        end(t);
        drop(t);
    }

    asio::awaitable<void> sleep(Terminal& t, std::chrono::milliseconds d) {
        t.pause.expires_after(d);
        co_await t.pause.async_wait(use_tuple);
    }

    std::string alarm_frame(const std::string& id) const {
        return R"({"type":"alarm","id":")" + id + R"(","kind":")" + o_.kind + R"(","at":")" +
               format_iso_millis(wall_now()) + R"(","drill":false,"note":"huxiao-bench"})" + "\n";
    }

    // Reads one line; empty optional on a broken connection.
    asio::awaitable<std::optional<std::string>> read_line(Terminal& t) {
        auto [ec, n] = co_await asio::async_read_until(
            *t.stream, asio::dynamic_buffer(t.buffer, kMaxLine), '\n', use_tuple);
        if (ec) co_return std::nullopt;
        std::string line = t.buffer.substr(0, n - 1);
        t.buffer.erase(0, n);
        co_return line;
    }

    // Waits as the reconnect policy says after a failure; the next attempt
    // goes to the next server.
    asio::awaitable<void> back_off(Terminal& t) {
        co_await sleep(t,
                       t.reconnect.failed(std::uniform_real_distribution<double>(0, 1)(t.random)));
    }

    // TCP connect, TLS handshake with the terminal's certificate, hello,
    // welcome, with the server the reconnect policy points at. Returns "" or
    // what went wrong.
    asio::awaitable<std::string> connect(Terminal& t) {
        t.timed_out = false;
        t.buffer.clear();
        t.stream = std::make_unique<Stream>(t.strand, tls_);
        SSL* ssl_handle = t.stream->native_handle();
        if (SSL_use_certificate(ssl_handle, t.cert) != 1 ||
            SSL_use_PrivateKey(ssl_handle, t.key) != 1) {
            co_return "the certificate or key of " + t.id + " cannot be used";
        }
        const std::size_t server = t.reconnect.address();
        t.stream->set_verify_callback(ssl::host_name_verification(o_.servers[server].host));
        begin(t);
        const auto why = [&](const std::string& what, const boost::system::error_code& ec) {
            end(t);
            return what + ": " + (t.timed_out ? std::string("timed out") : ec.message());
        };
        auto [cec] = co_await t.stream->next_layer().async_connect(endpoints_[server], use_tuple);
        if (cec) co_return why("connect", cec);
        boost::system::error_code ignored;
        t.stream->next_layer().set_option(tcp::no_delay(true), ignored);
        auto [hec] = co_await t.stream->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) co_return why("TLS handshake", hec);
        const std::string hello =
            R"({"type":"hello","terminal":")" + t.id + R"(","proto":1,"fw":"huxiao-bench"})" + "\n";
        auto [wec, wn] = co_await asio::async_write(*t.stream, asio::buffer(hello), use_tuple);
        if (wec) co_return why("hello", wec);
        auto line = co_await read_line(t);
        end(t);
        if (!line)
            co_return std::string("no welcome: ") +
                (t.timed_out ? "timed out" : "connection closed");
        auto frame = json::parse(*line, nullptr, false);
        if (frame.is_discarded() || !frame.is_object() || text_field(frame, "type") != "welcome") {
            co_return "no welcome; the server said: " + *line;
        }
        t.reconnect.connected();
        co_return "";
    }

    void record_ack(Terminal& t, Clock::time_point now, Clock::time_point first_sent,
                    const std::string& alarm_id, const std::string& incident) {
        ++t.stats.acks_total;
        if (ack_log_) {
            const std::lock_guard lock(ack_log_mutex_);
            const ServerEndpoint& server = o_.servers[t.reconnect.address()];
            std::fprintf(ack_log_, "%lld %s %s %s %s:%d\n",
                         static_cast<long long>(wall_now() / 1000), t.id.c_str(), alarm_id.c_str(),
                         incident.empty() ? "-" : incident.c_str(), server.host.c_str(),
                         server.port);
        }
        if (now >= window_start_ && now < window_end_ && !stop_.load(std::memory_order_relaxed)) {
            ++t.stats.acks;
            t.stats.latencies_us.push_back(
                std::chrono::duration_cast<std::chrono::microseconds>(now - first_sent).count());
        }
    }

    asio::awaitable<void> terminal_main(Terminal& t) {
        std::string error = co_await connect(t);
        // With several servers a refused first attempt is a standby's closed
        // port: try the next one until the controller's connect deadline.
        while (!error.empty() && endpoints_.size() > 1 && !abort_.load()) {
            drop(t);
            co_await back_off(t);
            if (abort_.load()) break;
            error = co_await connect(t);
        }
        if (!error.empty()) {
            t.connect_error = t.id + ": " + error;
            drop(t);
            ++failed_;
            ++finished_;
            co_return;
        }
        ++ready_;
        co_await t.start_signal.async_wait(use_tuple);
        std::uint64_t seq = 0;
        std::string pending_id;  // the alarm waiting for its ack ("" when none)
        std::string frame;
        Clock::time_point first_sent{};
        while (!abort_.load() && !stop_.load(std::memory_order_relaxed)) {
            const bool retransmit = !pending_id.empty();
            if (!retransmit && o_.alarms > 0 && seq >= o_.alarms) break;
            if (!retransmit) {
                pending_id = tag_ + "-" + std::to_string(++seq);
                frame = alarm_frame(pending_id);
                first_sent = Clock::now();
            }
            if (!t.stream) {
                co_await back_off(t);
                if (abort_.load() || stop_.load()) break;
                error = co_await connect(t);
                if (!error.empty()) {
                    broken(t);
                    continue;
                }
                ++t.stats.reconnects;
            }
            if (retransmit) ++t.stats.retransmissions;
            ++t.stats.sent;
            begin(t);
            auto [wec, wn] = co_await asio::async_write(*t.stream, asio::buffer(frame), use_tuple);
            if (wec) {
                broken(t);
                continue;
            }
            bool retry_later = false;
            for (;;) {
                auto line = co_await read_line(t);
                if (!line) {
                    broken(t);
                    break;
                }
                const auto now = Clock::now();
                auto reply = json::parse(*line, nullptr, false);
                if (reply.is_discarded() || !reply.is_object()) {
                    ++t.stats.errors["(not JSON)"];
                    continue;
                }
                const std::string type = text_field(reply, "type");
                if (type == "ack" && text_field(reply, "id") == pending_id) {
                    end(t);
                    record_ack(t, now, first_sent, pending_id, text_field(reply, "incident"));
                    pending_id.clear();
                    break;
                }
                if (type == "error") {
                    std::string code = text_field(reply, "code");
                    if (code.empty()) code = "(no code)";
                    ++t.stats.errors[code];
                    if (text_field(reply, "ref") != pending_id) {
                        continue;  // not about this alarm; a closing error ends the connection
                    }
                    end(t);
                    if (code == "unavailable") {
                        retry_later = true;  // not durable: send the same id again
                    } else {
                        ++t.stats.failed;
                        pending_id.clear();
                    }
                    break;
                }
                // status pushes and anything else: not what we wait for
            }
            if (retry_later) co_await sleep(t, std::chrono::milliseconds(o_.retry_backoff_ms));
        }
        if (!pending_id.empty()) ++t.stats.unacked_at_stop;
        end(t);
        drop(t);
        ++finished_;
    }

    // Closes the connection of every terminal whose operation has run past
    // the timeout; its coroutine sees the error and counts a timeout.
    void watchdog() {
        const std::int64_t now = to_ns(Clock::now());
        const std::int64_t limit = static_cast<std::int64_t>(o_.timeout_ms) * 1'000'000;
        for (auto& tp : terminals_) {
            Terminal& t = *tp;
            const std::int64_t since = t.busy_since.load(std::memory_order_relaxed);
            if (since == 0 || now - since <= limit) continue;
            asio::post(t.strand, [&t, since] {
                if (t.busy_since.load() != since || !t.stream) return;
                t.timed_out = true;
                boost::system::error_code ignored;
                t.stream->next_layer().close(ignored);
            });
        }
    }

    void kick_all(bool close_connections) {
        for (auto& tp : terminals_) {
            Terminal& t = *tp;
            asio::post(t.strand, [&t, close_connections] {
                t.start_signal.cancel();
                if (close_connections) {
                    t.pause.cancel();
                    if (t.stream) {
                        boost::system::error_code ignored;
                        t.stream->next_layer().close(ignored);
                    }
                }
            });
        }
    }

    asio::awaitable<void> controller() {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        const auto wait = [&](Clock::duration d) -> asio::awaitable<void> {
            tick.expires_after(d);
            co_await tick.async_wait(use_tuple);
            watchdog();
        };
        const int n = static_cast<int>(terminals_.size());
        const auto connect_start = Clock::now();
        const auto connect_deadline = connect_start + std::chrono::seconds(o_.connect_timeout_s);
        while (ready_.load() + failed_.load() < n && Clock::now() < connect_deadline) {
            co_await wait(std::chrono::milliseconds(10));
        }
        connect_s_ = std::chrono::duration<double>(Clock::now() - connect_start).count();
        if (ready_.load() < n) {
            std::fprintf(stderr, "huxiao-bench: %d of %d terminals connected; giving up\n",
                         ready_.load(), n);
            abort_ = true;
            kick_all(true);
            co_return;
        }
        if (!o_.ready_file.empty()) {
            std::ofstream(o_.ready_file) << n << " terminals connected\n";
        }
        if (!o_.go_file.empty()) {
            const auto go_deadline = Clock::now() + std::chrono::seconds(600);
            while (!std::filesystem::exists(o_.go_file) && !interrupted_ &&
                   Clock::now() < go_deadline) {
                co_await wait(std::chrono::milliseconds(10));
            }
        }
        if (o_.alarms > 0) {
            co_await fixed_count();
            co_return;
        }
        const auto t0 = Clock::now();
        window_start_ = t0 + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o_.warmup_s));
        if (o_.duration_s > 0) {
            window_end_ = window_start_ + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(o_.duration_s));
        }
        kick_all(false);
        while (Clock::now() < window_start_ && !interrupted_) {
            co_await wait(std::min<Clock::duration>(window_start_ - Clock::now(),
                                                    std::chrono::milliseconds(50)));
        }
        const double cpu0 = cpu_seconds();
        while (Clock::now() < window_end_ && !interrupted_) {
            co_await wait(std::min<Clock::duration>(window_end_ - Clock::now(),
                                                    std::chrono::milliseconds(50)));
        }
        client_cpu_s_ = cpu_seconds() - cpu0;
        window_s_ = std::max(
            0.0, std::chrono::duration<double>(std::min(Clock::now(), window_end_) - window_start_)
                     .count());
        stop_ = true;
        // Every terminal finishes the alarm it has in flight (or times out).
        const auto drain_deadline = Clock::now() + std::chrono::milliseconds(o_.timeout_ms + 2000);
        while (finished_.load() < n && Clock::now() < drain_deadline) {
            co_await wait(std::chrono::milliseconds(10));
        }
        if (finished_.load() < n) {
            std::fprintf(stderr, "huxiao-bench: %d terminals did not finish; closing them\n",
                         n - finished_.load());
            incomplete_ = true;
            kick_all(true);
        }
    }

    // --alarms: every ack is measured; the window ends when the last
    // terminal has sent its last alarm (the watchdog still closes a terminal
    // whose ack does not come).
    asio::awaitable<void> fixed_count() {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        const int n = static_cast<int>(terminals_.size());
        window_start_ = Clock::now();
        const double cpu0 = cpu_seconds();
        kick_all(false);
        while (finished_.load() < n && !interrupted_) {
            tick.expires_after(std::chrono::milliseconds(10));
            co_await tick.async_wait(use_tuple);
            watchdog();
        }
        client_cpu_s_ = cpu_seconds() - cpu0;
        window_s_ = std::chrono::duration<double>(Clock::now() - window_start_).count();
        if (finished_.load() < n) {  // interrupted: as a timed run does
            stop_ = true;
            kick_all(true);
        }
    }

    LoadResult collect() {
        LoadResult r;
        r.terminals = static_cast<int>(terminals_.size());
        r.connected = ready_.load();
        r.connect_s = round3(connect_s_);
        r.window_s = round3(window_s_);
        r.client_cpu_s = round3(client_cpu_s_);
        r.complete = !incomplete_ && finished_cleanly() && r.connected == r.terminals;
        std::vector<std::int64_t> all;
        double sum = 0;
        for (auto& tp : terminals_) {
            const Stats& s = tp->stats;
            if (r.first_connect_error.empty() && !tp->connect_error.empty()) {
                r.first_connect_error = tp->connect_error;
            }
            r.acks += s.acks;
            r.acks_total += s.acks_total;
            r.sent += s.sent;
            r.retransmissions += s.retransmissions;
            r.failed += s.failed;
            r.timeouts += s.timeouts;
            r.disconnects += s.disconnects;
            r.reconnects += s.reconnects;
            r.unacked_at_stop += s.unacked_at_stop;
            for (const auto& [code, count] : s.errors) r.errors[code] += count;
            all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
        }
        std::sort(all.begin(), all.end());
        for (auto v : all) sum += static_cast<double>(v);
        if (!all.empty()) {
            r.mean_ms = round3(sum / static_cast<double>(all.size()) / 1000.0);
            r.p50_ms = round3(percentile(all, 0.50) / 1000.0);
            r.p90_ms = round3(percentile(all, 0.90) / 1000.0);
            r.p99_ms = round3(percentile(all, 0.99) / 1000.0);
            r.p999_ms = round3(percentile(all, 0.999) / 1000.0);
            r.max_ms = round3(static_cast<double>(all.back()) / 1000.0);
        }
        return r;
    }

    const LoadOptions& o_;
    asio::io_context io_;
    ssl::context tls_{ssl::context::tls_client};
    std::vector<tcp::endpoint> endpoints_;  // o_.servers, resolved
    std::string tag_;
    std::vector<std::unique_ptr<Terminal>> terminals_;
    std::atomic<int> ready_{0};
    std::atomic<int> failed_{0};
    std::atomic<int> finished_{0};
    std::atomic<bool> stop_{false};
    std::atomic<bool> abort_{false};
    Clock::time_point window_start_ = Clock::time_point::max();
    Clock::time_point window_end_ = Clock::time_point::max();
    double connect_s_ = 0;
    double window_s_ = 0;
    double client_cpu_s_ = 0;
    bool interrupted_ = false;  // on the controller's strand
    std::FILE* ack_log_ = nullptr;
    std::mutex ack_log_mutex_;
    bool incomplete_ = false;
};

}  // namespace

std::string terminal_id(const std::string& prefix, int number) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%04d", number);
    return prefix + digits;
}

bool LoadResult::ok(bool strict) const {
    if (connected != terminals || acks == 0 || !complete) return false;
    if (!strict) return true;
    return errors.empty() && failed == 0 && timeouts == 0 && disconnects == 0;
}

std::string LoadResult::to_json(const LoadOptions& o) const {
    json errors_json = json::object();
    for (const auto& [code, count] : errors) errors_json[code] = count;
    json j = {
        {"tool", "huxiao-bench"},
        {"terminals", terminals},
        {"connected", connected},
        {"threads", o.threads},
        {"warmup_s", o.warmup_s},
        {"duration_s", window_s},
        {"servers", o.servers.size()},
        {"acks", acks},
        {"alarms_per_s", window_s > 0 ? round3(static_cast<double>(acks) / window_s) : 0.0},
        {"latency_ms",
         {{"mean", mean_ms},
          {"p50", p50_ms},
          {"p90", p90_ms},
          {"p99", p99_ms},
          {"p999", p999_ms},
          {"max", max_ms}}},
        {"acks_total", acks_total},
        {"sent", sent},
        {"retransmissions", retransmissions},
        {"failed", failed},
        {"errors", errors_json},
        {"timeouts", timeouts},
        {"disconnects", disconnects},
        {"reconnects", reconnects},
        {"unacked_at_stop", unacked_at_stop},
        {"connect_s", connect_s},
        {"client_cpu_s", client_cpu_s},
        {"complete", complete},
    };
    if (o.alarms > 0) j["alarms_per_terminal"] = o.alarms;
    if (!first_connect_error.empty()) j["first_connect_error"] = first_connect_error;
    return j.dump();
}

LoadResult run_load(const LoadOptions& options) {
    // Left alive when a terminal could not be finished: its coroutine still
    // refers to it, and the process is about to exit anyway.
    auto* load = new Load(options);
    LoadResult result = load->run();
    if (load->finished_cleanly()) delete load;
    return result;
}

}  // namespace huxiao::bench
