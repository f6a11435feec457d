#include "tools/bench/dispatch.hpp"

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
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/util/time.hpp"
#include "common/util/token_bucket.hpp"
#include "tools/bench/bench_util.hpp"
#include "tools/bench/load.hpp"
#include "tools/bench/make_certs.hpp"
#include "tools/bench/ws_client.hpp"

namespace huxiao::bench {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
// Just below the server's limit on a unit's messages (20 a second, 60 at
// once; server/sessions/ws_session.cpp).
constexpr double kUnitMessagesPerSecond = 18;
constexpr double kUnitMessageBurst = 50;

Percentiles summarise(std::vector<std::int64_t> us) {
    Percentiles p;
    std::sort(us.begin(), us.end());
    p.count = us.size();
    if (us.empty()) return p;
    double sum = 0;
    for (auto v : us) sum += static_cast<double>(v);
    p.mean_ms = round3(sum / static_cast<double>(us.size()) / 1000.0);
    p.p50_ms = round3(percentile(us, 0.50) / 1000.0);
    p.p90_ms = round3(percentile(us, 0.90) / 1000.0);
    p.p99_ms = round3(percentile(us, 0.99) / 1000.0);
    p.p999_ms = round3(percentile(us, 0.999) / 1000.0);
    p.max_ms = round3(static_cast<double>(us.back()) / 1000.0);
    return p;
}

json percentiles_json(const Percentiles& p) {
    return {{"count", p.count}, {"mean", p.mean_ms}, {"p50", p.p50_ms}, {"p90", p.p90_ms},
            {"p99", p.p99_ms},  {"p999", p.p999_ms}, {"max", p.max_ms}};
}

std::string text_field(const json& frame, const char* key) {
    const auto it = frame.find(key);
    return it != frame.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t micros(Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

using Strand = asio::strand<asio::io_context::executor_type>;
using TlsStream = ssl::stream<tcp::socket>;

// One alarm sent (or about to be).
struct Alarm {
    int terminal = 0;  // index
    bool measured = false;
    bool sent = false;
    Clock::time_point sent_at{};
    bool offered = false;
    Clock::time_point offered_at{};
    std::string offer_incident;
    bool acked = false;
    Clock::time_point acked_at{};
    std::string ack_incident;
};

struct Terminal {
    Terminal(std::string terminal_id, std::string school_id, Strand s)
        : id(std::move(terminal_id)), school(std::move(school_id)), strand(s) {}
    ~Terminal() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    std::string id;
    std::string school;
    Strand strand;
    X509* cert = nullptr;
    EVP_PKEY* key = nullptr;
    std::unique_ptr<TlsStream> stream;
    std::string buffer;
    bool writing = false;
    std::string frame;
};

struct Unit {
    Unit(std::string unit_id, std::string bearer, LatLon at, Strand s)
        : id(std::move(unit_id)), token(std::move(bearer)), home(at), strand(s) {}
    std::string id;
    std::string token;
    LatLon home;
    Strand strand;
    std::unique_ptr<WebSocket> ws;
    beast::flat_buffer buffer;
    // The server refuses a unit's 21st message in a second (60 at once) with
    // `rate_limited` and drops it. A dropped `clear` would leave the unit
    // busy for good and starve later alarms of offers, so the simulated unit
    // keeps below that limit, as a real unit app must.
    TokenBucket pace{kUnitMessagesPerSecond, kUnitMessageBurst};
};

class DispatchLoad {
  public:
    explicit DispatchLoad(const DispatchOptions& options) : o_(options), io_(options.threads) {
        tls_.set_verify_mode(ssl::verify_peer);
        tls_.load_verify_file(o_.ca.string());
        const auto address = asio::ip::make_address(o_.host);
        terminal_endpoint_ = tcp::endpoint(address, static_cast<unsigned short>(o_.terminal_port));
        api_endpoint_ = tcp::endpoint(address, static_cast<unsigned short>(o_.api_port));
        tag_ = "d" + std::to_string(wall_now() / 1000) + "p" + std::to_string(::getpid());
        for (int i = 1; i <= o_.terminals; ++i) {
            auto t = std::make_unique<Terminal>(terminal_id(o_.prefix, i),
                                                terminal_id(o_.school_prefix, i),
                                                asio::make_strand(io_));
            t->cert = read_cert(o_.certs / (t->id + ".crt"));
            t->key = read_key(o_.certs / (t->id + ".key"));
            terminals_.push_back(std::move(t));
        }
        std::ifstream in(o_.unit_tokens);
        if (!in) throw std::runtime_error("cannot read " + o_.unit_tokens.string());
        std::string line;
        while (static_cast<int>(units_.size()) < o_.units && std::getline(in, line)) {
            std::istringstream fields(line);
            std::string unit, token;
            if (!(fields >> unit >> token)) continue;
            const int number = static_cast<int>(units_.size()) + 1;
            units_.push_back(std::make_unique<Unit>(unit, token, unit_home(number, o_.units),
                                                    asio::make_strand(io_)));
        }
        if (static_cast<int>(units_.size()) < o_.units) {
            throw std::runtime_error(o_.unit_tokens.string() + " has " +
                                     std::to_string(units_.size()) +
                                     " unit tokens, --units asks for " + std::to_string(o_.units));
        }
        const auto expected =
            static_cast<std::size_t>(o_.rate * (o_.warmup_s + o_.duration_s)) + 16;
        alarms_.reserve(expected);
    }

    DispatchResult run() {
        for (auto& t : terminals_) asio::co_spawn(t->strand, terminal_main(*t), asio::detached);
        for (auto& u : units_) asio::co_spawn(u->strand, unit_main(*u), asio::detached);
        asio::co_spawn(asio::make_strand(io_), controller(), asio::detached);
        std::vector<std::thread> threads;
        for (int i = 1; i < o_.threads; ++i) threads.emplace_back([this] { io_.run(); });
        io_.run();
        for (auto& th : threads) th.join();
        return collect();
    }

  private:
    void connect_failed(const std::string& who, const std::string& why) {
        std::lock_guard lock(mutex_);
        if (first_connect_error_.empty()) first_connect_error_ = who + ": " + why;
        ++failed_;
    }

    // ---- terminals -------------------------------------------------------------

    asio::awaitable<std::optional<std::string>> read_line(Terminal& t) {
        auto [ec, n] = co_await asio::async_read_until(
            *t.stream, asio::dynamic_buffer(t.buffer, kMaxLine), '\n', use_tuple);
        if (ec) co_return std::nullopt;
        std::string line = t.buffer.substr(0, n - 1);
        t.buffer.erase(0, n);
        co_return line;
    }

    asio::awaitable<std::string> connect(Terminal& t) {
        t.stream = std::make_unique<TlsStream>(t.strand, tls_);
        SSL* ssl_handle = t.stream->native_handle();
        if (SSL_use_certificate(ssl_handle, t.cert) != 1 ||
            SSL_use_PrivateKey(ssl_handle, t.key) != 1) {
            co_return "the certificate or key cannot be used";
        }
        t.stream->set_verify_callback(ssl::host_name_verification(o_.host));
        auto [cec] = co_await t.stream->next_layer().async_connect(terminal_endpoint_, use_tuple);
        if (cec) co_return "connect: " + cec.message();
        boost::system::error_code ignored;
        t.stream->next_layer().set_option(tcp::no_delay(true), ignored);
        auto [hec] = co_await t.stream->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) co_return "TLS handshake: " + hec.message();
        t.frame =
            R"({"type":"hello","terminal":")" + t.id + R"(","proto":1,"fw":"huxiao-bench"})" + "\n";
        auto [wec, wn] = co_await asio::async_write(*t.stream, asio::buffer(t.frame), use_tuple);
        if (wec) co_return "hello: " + wec.message();
        auto line = co_await read_line(t);
        if (!line) co_return std::string("no welcome: connection closed");
        auto frame = json::parse(*line, nullptr, false);
        if (frame.is_discarded() || !frame.is_object() || text_field(frame, "type") != "welcome") {
            co_return "no welcome; the server said: " + *line;
        }
        co_return std::string();
    }

    asio::awaitable<void> terminal_main(Terminal& t) {
        const std::string error = co_await connect(t);
        if (!error.empty()) {
            connect_failed(t.id, error);
            co_return;
        }
        ++terminals_ready_;
        for (;;) {
            auto line = co_await read_line(t);
            const auto now = Clock::now();
            if (!line) break;
            auto frame = json::parse(*line, nullptr, false);
            if (frame.is_discarded() || !frame.is_object()) continue;
            const std::string type = text_field(frame, "type");
            if (type == "ack") {
                on_ack(text_field(frame, "id"), text_field(frame, "incident"), now);
            } else if (type == "error") {
                std::lock_guard lock(mutex_);
                ++terminal_errors_[text_field(frame, "code")];
            }
            // status pushes: not measured
        }
        if (!stopping_.load()) ++disconnects_;
    }

    // On the terminal's strand: writes alarm `index`.
    asio::awaitable<void> send_alarm(Terminal& t, std::size_t index) {
        if (t.writing || !t.stream) {
            ++skipped_busy_;
            co_return;
        }
        t.writing = true;
        t.frame = R"({"type":"alarm","id":")" + tag_ + "-" + std::to_string(index) +
                  R"(","kind":")" + o_.kind + R"(","at":")" + format_iso_millis(wall_now()) +
                  R"(","drill":false,"note":"huxiao-bench dispatch"})" + "\n";
        {
            std::lock_guard lock(mutex_);
            Alarm& a = alarms_[index];
            a.sent = true;
            latest_by_school_[t.school] = index;
            a.sent_at = Clock::now();
        }
        auto [ec, n] = co_await asio::async_write(*t.stream, asio::buffer(t.frame), use_tuple);
        t.writing = false;
        if (ec && !stopping_.load()) ++disconnects_;
    }

    void on_ack(const std::string& alarm_id, const std::string& incident, Clock::time_point now) {
        const auto dash = alarm_id.rfind('-');
        if (dash == std::string::npos || alarm_id.compare(0, dash, tag_) != 0) return;
        const std::size_t index = std::stoul(alarm_id.substr(dash + 1));
        std::lock_guard lock(mutex_);
        if (index >= alarms_.size()) return;
        Alarm& a = alarms_[index];
        if (a.acked) return;
        a.acked = true;
        a.acked_at = now;
        a.ack_incident = incident;
    }

    // ---- units -----------------------------------------------------------------

    asio::awaitable<bool> write(Unit& u, const std::string& text) {
        while (!u.pace.take(wall_now())) {
            ++unit_paced_;
            asio::steady_timer wait(u.strand, std::chrono::milliseconds(10));
            co_await wait.async_wait(use_tuple);
        }
        auto [ec, n] = co_await u.ws->async_write(asio::buffer(text), use_tuple);
        co_return !ec;
    }

    asio::awaitable<std::string> connect(Unit& u) {
        u.ws = std::make_unique<WebSocket>(u.strand, tls_);
        const std::string opened =
            co_await open_websocket(*u.ws, api_endpoint_, o_.host, "/ws/unit", u.token);
        if (!opened.empty()) co_return opened;
        auto [rec, n] = co_await u.ws->async_read(u.buffer, use_tuple);
        if (rec) co_return "no welcome: " + rec.message();
        const std::string text = beast::buffers_to_string(u.buffer.data());
        u.buffer.consume(n);
        const json welcome = json::parse(text, nullptr, false);
        if (!welcome.is_object() || text_field(welcome, "type") != "welcome") {
            co_return "no welcome; the server said: " + text;
        }
        char position[160];
        std::snprintf(position, sizeof position,
                      R"({"type":"position","lat":%.7f,"lon":%.7f,"at":"%s"})", u.home.lat,
                      u.home.lon, format_iso_millis(wall_now()).c_str());
        // (No temporaries inside co_await expressions: GCC 12.)
        const std::string position_text = position;
        const std::string availability = R"({"type":"availability","status":"available"})";
        if (!co_await write(u, position_text)) co_return std::string("position: write failed");
        if (!co_await write(u, availability)) co_return std::string("availability: write failed");
        co_return std::string();
    }

    asio::awaitable<void> unit_main(Unit& u) {
        const std::string error = co_await connect(u);
        if (!error.empty()) {
            connect_failed(u.id, error);
            co_return;
        }
        ++units_ready_;
        for (;;) {
            auto [ec, n] = co_await u.ws->async_read(u.buffer, use_tuple);
            const auto now = Clock::now();
            if (ec) break;
            const std::string text = beast::buffers_to_string(u.buffer.data());
            u.buffer.consume(n);
            const json message = json::parse(text, nullptr, false);
            if (!message.is_object()) continue;
            const std::string type = text_field(message, "type");
            if (type == "offer") {
                const std::string incident = text_field(message, "incident");
                const auto school = message.find("school");
                on_offer(
                    incident,
                    school != message.end() && school->is_object() ? text_field(*school, "id") : "",
                    now);
                // Take it, be there, and leave: the incident resolves and the
                // unit is available again for the next one.
                const std::string accept = json{{"type", "accept"}, {"incident", incident}}.dump();
                const std::string arrived =
                    json{{"type", "arrived"}, {"incident", incident}}.dump();
                const std::string clear =
                    json{{"type", "clear"}, {"incident", incident}, {"outcome", "bench"}}.dump();
                ++units_working_;
                bool written = co_await write(u, accept);
                if (written) written = co_await write(u, arrived);
                if (written) written = co_await write(u, clear);
                --units_working_;
                if (!written) break;
            } else if (type == "error") {
                std::lock_guard lock(mutex_);
                ++unit_errors_[text_field(message, "code")];
            }
        }
        if (!stopping_.load()) ++disconnects_;
    }

    void on_offer(const std::string& incident, const std::string& school, Clock::time_point now) {
        std::lock_guard lock(mutex_);
        ++offers_received_;
        if (!offered_incidents_.insert(incident).second)
            return;  // a later offer of the same incident
        const auto it = latest_by_school_.find(school);
        if (it == latest_by_school_.end() || alarms_[it->second].offered) {
            ++unmatched_offers_;
            return;
        }
        Alarm& a = alarms_[it->second];
        a.offered = true;
        a.offered_at = now;
        a.offer_incident = incident;
    }

    // ---- the run -----------------------------------------------------------------

    void close_all() {
        stopping_ = true;
        for (auto& tp : terminals_) {
            Terminal& t = *tp;
            asio::post(t.strand, [&t] {
                boost::system::error_code ignored;
                if (t.stream) t.stream->next_layer().close(ignored);
            });
        }
        for (auto& up : units_) {
            Unit& u = *up;
            asio::post(u.strand, [&u] {
                boost::system::error_code ignored;
                if (u.ws) beast::get_lowest_layer(*u.ws).close(ignored);
            });
        }
    }

    bool all_answered() {
        std::lock_guard lock(mutex_);
        for (const Alarm& a : alarms_) {
            if (a.measured && a.sent && (!a.offered || !a.acked)) return false;
        }
        return true;
    }

    asio::awaitable<void> controller() {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        const int expected = o_.terminals + o_.units;
        const auto connect_start = Clock::now();
        const auto connect_deadline = connect_start + std::chrono::seconds(o_.connect_timeout_s);
        while (terminals_ready_.load() + units_ready_.load() + failed_.load() < expected &&
               Clock::now() < connect_deadline) {
            tick.expires_after(std::chrono::milliseconds(10));
            co_await tick.async_wait(use_tuple);
        }
        connect_s_ = std::chrono::duration<double>(Clock::now() - connect_start).count();
        if (terminals_ready_.load() + units_ready_.load() < expected) {
            std::fprintf(
                stderr,
                "huxiao-bench: %d of %d terminals and %d of %d units connected; giving up\n",
                terminals_ready_.load(), o_.terminals, units_ready_.load(), o_.units);
            close_all();
            co_return;
        }
        // Let the units' position and availability reach the dispatcher.
        tick.expires_after(std::chrono::milliseconds(500));
        co_await tick.async_wait(use_tuple);

        const auto t0 = Clock::now();
        const auto period = std::chrono::duration<double>(1.0 / o_.rate);
        const auto warmup =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.warmup_s));
        const auto end = t0 + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o_.warmup_s + o_.duration_s));
        double cpu0 = -1;
        for (std::size_t i = 0;; ++i) {
            const auto at =
                t0 + std::chrono::duration_cast<Clock::duration>(period * static_cast<double>(i));
            if (at >= end) break;
            if (cpu0 < 0 && at >= t0 + warmup) cpu0 = cpu_seconds();
            tick.expires_at(at);
            co_await tick.async_wait(use_tuple);
            const int terminal = static_cast<int>(i % terminals_.size());
            {
                std::lock_guard lock(mutex_);
                Alarm a;
                a.terminal = terminal;
                a.measured = at >= t0 + warmup;
                alarms_.push_back(a);
            }
            Terminal& t = *terminals_[static_cast<std::size_t>(terminal)];
            asio::co_spawn(t.strand, send_alarm(t, i), asio::detached);
        }
        const auto drain_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(o_.drain_s));
        while (Clock::now() < drain_end && !all_answered()) {
            tick.expires_after(std::chrono::milliseconds(20));
            co_await tick.async_wait(use_tuple);
        }
        // Let the units finish (accept, arrived, clear) what they were
        // offered: an incident left open would be offered again to the next
        // run against the same server and counted there as unmatched.
        while (Clock::now() < drain_end && units_working_.load() > 0) {
            tick.expires_after(std::chrono::milliseconds(20));
            co_await tick.async_wait(use_tuple);
        }
        client_cpu_s_ = cpu0 < 0 ? 0 : cpu_seconds() - cpu0;
        close_all();
        tick.expires_after(std::chrono::milliseconds(300));
        co_await tick.async_wait(use_tuple);
        io_.stop();
    }

    DispatchResult collect() {
        std::lock_guard lock(mutex_);
        DispatchResult r;
        r.terminals = o_.terminals;
        r.terminals_connected = terminals_ready_.load();
        r.units = o_.units;
        r.units_connected = units_ready_.load();
        r.first_connect_error = first_connect_error_;
        r.connect_s = round3(connect_s_);
        r.offers_received = offers_received_;
        r.unmatched_offers = unmatched_offers_;
        r.skipped_busy = skipped_busy_.load();
        r.disconnects = disconnects_.load();
        r.terminal_errors = terminal_errors_;
        r.unit_errors = unit_errors_;
        r.unit_paced_waits = unit_paced_.load();
        r.client_cpu_s = round3(client_cpu_s_);
        std::vector<std::int64_t> offer_us, ack_us;
        for (const Alarm& a : alarms_) {
            if (a.sent) ++r.alarms_sent;
            if (a.offered) ++r.first_offers;
            if (!a.measured || !a.sent) continue;
            ++r.alarms_measured;
            if (a.offered) {
                offer_us.push_back(micros(a.offered_at - a.sent_at));
            } else {
                ++r.missing_offers;
            }
            if (a.acked) {
                ack_us.push_back(micros(a.acked_at - a.sent_at));
            } else {
                ++r.missing_acks;
            }
            if (a.offered && a.acked && a.offer_incident != a.ack_incident) ++r.incident_mismatches;
        }
        r.offer = summarise(std::move(offer_us));
        r.ack = summarise(std::move(ack_us));
        return r;
    }

    const DispatchOptions& o_;
    asio::io_context io_;
    ssl::context tls_{ssl::context::tls_client};
    tcp::endpoint terminal_endpoint_, api_endpoint_;
    std::string tag_;
    std::vector<std::unique_ptr<Terminal>> terminals_;
    std::vector<std::unique_ptr<Unit>> units_;
    std::atomic<int> terminals_ready_{0}, units_ready_{0}, failed_{0};
    std::atomic<int> units_working_{0};  // units between an offer and their `clear`
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> skipped_busy_{0}, disconnects_{0}, unit_paced_{0};
    double connect_s_ = 0, client_cpu_s_ = 0;

    std::mutex mutex_;  // guards everything below
    std::vector<Alarm> alarms_;
    std::unordered_map<std::string, std::size_t> latest_by_school_;
    std::unordered_set<std::string> offered_incidents_;
    std::uint64_t offers_received_ = 0, unmatched_offers_ = 0;
    std::map<std::string, std::uint64_t> terminal_errors_, unit_errors_;
    std::string first_connect_error_;
};

}  // namespace

bool DispatchResult::ok() const {
    return terminals_connected == terminals && units_connected == units && alarms_measured > 0 &&
           missing_offers == 0 && missing_acks == 0 && incident_mismatches == 0 &&
           unmatched_offers == 0 && disconnects == 0 && skipped_busy == 0 && unit_errors.empty();
}

std::string DispatchResult::to_json(const DispatchOptions& o) const {
    json terr = json::object(), uerr = json::object();
    for (const auto& [code, count] : terminal_errors) terr[code] = count;
    for (const auto& [code, count] : unit_errors) uerr[code] = count;
    json j = {
        {"tool", "huxiao-bench dispatch"},
        {"terminals", terminals},
        {"terminals_connected", terminals_connected},
        {"units", units},
        {"units_connected", units_connected},
        {"rate", o.rate},
        {"warmup_s", o.warmup_s},
        {"duration_s", o.duration_s},
        {"threads", o.threads},
        {"kind", o.kind},
        {"alarms_sent", alarms_sent},
        {"alarms_measured", alarms_measured},
        {"offer_ms", percentiles_json(offer)},
        {"ack_ms", percentiles_json(ack)},
        {"offers_received", offers_received},
        {"first_offers", first_offers},
        {"missing_offers", missing_offers},
        {"missing_acks", missing_acks},
        {"unmatched_offers", unmatched_offers},
        {"incident_mismatches", incident_mismatches},
        {"skipped_busy", skipped_busy},
        {"disconnects", disconnects},
        {"terminal_errors", terr},
        {"unit_errors", uerr},
        {"unit_paced_waits", unit_paced_waits},
        {"connect_s", connect_s},
        {"client_cpu_s", client_cpu_s},
    };
    if (!first_connect_error.empty()) j["first_connect_error"] = first_connect_error;
    return j.dump();
}

DispatchResult run_dispatch(const DispatchOptions& options) {
    // Left alive: coroutines stopped with io_.stop() still refer to it, and
    // the process is about to exit.
    auto* load = new DispatchLoad(options);
    return load->run();
}

}  // namespace huxiao::bench
