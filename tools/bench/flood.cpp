#include "tools/bench/flood.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <sstream>

#include "tools/bench/bench_util.hpp"

namespace huxiao::bench {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// The start of a TLS 1.2 ClientHello record: a record header that promises
// 512 bytes, a handshake header and the client version. Never completed.
const std::string kClientHelloStart("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
const std::string kSlowRequest = "GET /api/v1/incidents HTTP/1.1\r\nHost: huxiao\r\nX-Pad: ";

enum class Kind { idle, tls, slow };

struct Flood {
    const FloodOptions& o;
    asio::io_context& io;
    ssl::context tls{ssl::context::tls_client};
    FloodResult result;
    std::uint64_t open = 0;
    std::chrono::steady_clock::time_point end;

    Flood(const FloodOptions& options, asio::io_context& context) : o(options), io(context) {
        tls.set_verify_mode(ssl::verify_none);  // junk does not care whom it talks to
    }

    bool running() const { return std::chrono::steady_clock::now() < end; }

    void opened() {
        ++result.connects;
        ++open;
        result.max_open = std::max(result.max_open, open);
    }

    // Waits until the server closes `s` (or the run ends); true if the server did.
    template <typename Stream>
    asio::awaitable<bool> wait_close(Stream& s) {
        char byte[512];
        for (;;) {
            auto [ec, n] = co_await s.async_read_some(asio::buffer(byte), use_tuple);
            if (ec) co_return ec != asio::error::operation_aborted;
        }
    }

    asio::awaitable<void> slot(Kind kind) {
        const tcp::endpoint local(asio::ip::make_address(o.from), 0);
        const tcp::endpoint remote(asio::ip::make_address(o.host),
                                   static_cast<unsigned short>(o.port));
        asio::steady_timer pause(io);
        while (running()) {
            auto owned = std::make_shared<tcp::socket>(io);
            tcp::socket& socket = *owned;
            boost::system::error_code ec;
            socket.open(tcp::v4(), ec);
            if (!ec) socket.bind(local, ec);
            if (!ec) std::tie(ec) = co_await socket.async_connect(remote, use_tuple);
            if (ec) {
                ++result.connect_errors;
            } else {
                opened();
                // The run's end closes whatever is still open.
                auto stopper = std::make_shared<asio::steady_timer>(io, end);
                stopper->async_wait([owned](boost::system::error_code e) {
                    boost::system::error_code ignored;
                    if (!e) owned->close(ignored);
                });
                bool closed = false;
                if (kind == Kind::idle) {
                    closed = co_await wait_close(socket);
                } else if (kind == Kind::tls) {
                    auto [wec, n] = co_await asio::async_write(
                        socket, asio::buffer(kClientHelloStart), use_tuple);
                    closed = wec ? true : co_await wait_close(socket);
                } else if (!o.api) {
                    closed = co_await dribble(socket, kClientHelloStart);
                } else {
                    ssl::stream<tcp::socket&> stream(socket, tls);
                    auto [hec] =
                        co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
                    if (hec) {
                        closed = hec != asio::error::operation_aborted;
                    } else {
                        ++result.tls_established;
                        closed = co_await dribble(stream, kSlowRequest);
                    }
                }
                stopper->cancel();
                --open;
                if (closed) ++result.closed_by_server;
            }
            if (!running()) break;
            pause.expires_after(std::chrono::milliseconds(static_cast<int>(o.reconnect_s * 1000)));
            co_await pause.async_wait(use_tuple);
        }
    }

    // Sends `bytes` one at a time, slow_byte_s apart, then pads forever;
    // true when the server closed the connection.
    template <typename Stream>
    asio::awaitable<bool> dribble(Stream& s, const std::string& bytes) {
        struct Watch {
            bool done = false;
            bool closed = false;
        };
        auto watch = std::make_shared<Watch>();
        asio::steady_timer next(io);
        // A read watches for the close while the writes dribble; the socket
        // is closed by the server or at the run's end, so the read finishes.
        asio::co_spawn(
            io,
            [this, &s, &next, watch]() -> asio::awaitable<void> {
                watch->closed = co_await wait_close(s);
                watch->done = true;
                next.cancel();
            },
            asio::detached);
        for (std::size_t i = 0; running() && !watch->done; ++i) {
            const char c = i < bytes.size() ? bytes[i] : 'x';
            auto [ec, n] = co_await asio::async_write(s, asio::buffer(&c, 1), use_tuple);
            if (ec) break;
            next.expires_after(std::chrono::milliseconds(static_cast<int>(o.slow_byte_s * 1000)));
            co_await next.async_wait(use_tuple);
        }
        // The stream and the timer must outlive the watching read.
        while (!watch->done) {
            next.expires_after(std::chrono::milliseconds(50));
            co_await next.async_wait(use_tuple);
        }
        co_return watch->closed;
    }
};

}  // namespace

std::string FloodResult::to_json(const FloodOptions& o) const {
    std::ostringstream out;
    out << "{\"target\":\"" << (o.api ? "api" : "terminal") << "\",\"from\":\"" << o.from
        << "\",\"slots\":" << o.connections << ",\"duration_s\":" << o.duration_s
        << ",\"connects\":" << connects << ",\"connect_errors\":" << connect_errors
        << ",\"closed_by_server\":" << closed_by_server
        << ",\"tls_established\":" << tls_established << ",\"max_open\":" << max_open
        << ",\"open_at_end\":" << open_at_end << ",\"client_cpu_s\":" << round3(client_cpu_s)
        << "}";
    return out.str();
}

FloodResult run_flood(const FloodOptions& o) {
    asio::io_context io(1);
    Flood flood(o, io);
    flood.end = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(static_cast<int>(o.duration_s * 1000));
    for (int i = 0; i < o.connections; ++i) {
        const Kind kind = static_cast<Kind>(i % 3);
        asio::co_spawn(io, flood.slot(kind), asio::detached);
    }
    // Snapshot of what is held just before the end.
    asio::steady_timer almost(io, flood.end - std::chrono::milliseconds(200));
    almost.async_wait([&](boost::system::error_code) { flood.result.open_at_end = flood.open; });
    const double cpu0 = cpu_seconds();
    io.run();
    flood.result.client_cpu_s = cpu_seconds() - cpu0;
    return flood.result;
}

}  // namespace huxiao::bench
