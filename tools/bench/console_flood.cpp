#include "tools/bench/console_flood.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "tools/bench/bench_util.hpp"
#include "tools/bench/ws_client.hpp"

namespace huxiao::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using nlohmann::json;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

const std::string kSnapshotRequest = R"({"type":"snapshot"})";

class ConsoleFlood {
  public:
    explicit ConsoleFlood(const ConsoleFloodOptions& options) : o_(options) {
        tls_.set_verify_mode(asio::ssl::verify_peer);
        tls_.load_verify_file(o_.ca.string());
        endpoint_ = tcp::endpoint(asio::ip::make_address(o_.host),
                                  static_cast<unsigned short>(o_.api_port));
    }

    ConsoleFloodResult run() {
        end_ = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(o_.duration_s));
        const double cpu0 = cpu_seconds();
        for (int i = 0; i < o_.consoles; ++i) asio::co_spawn(io_, console(), asio::detached);
        io_.run();
        result_.client_cpu_s = round3(cpu_seconds() - cpu0);
        return result_;
    }

  private:
    bool running() const { return std::chrono::steady_clock::now() < end_; }

    asio::awaitable<void> console() {
        asio::steady_timer pause(io_);
        while (running()) {
            auto ws = std::make_shared<WebSocket>(io_, tls_);
            const std::string error =
                co_await open_websocket(*ws, endpoint_, o_.host, "/ws/console", o_.token);
            if (!error.empty()) {
                ++result_.connect_errors;
                if (result_.first_connect_error.empty()) result_.first_connect_error = error;
            } else {
                ++result_.connects;
                // Reads on their own; the writer below never waits for an answer.
                auto done = std::make_shared<bool>(false);
                asio::co_spawn(io_, reader(ws, done), asio::detached);
                asio::steady_timer stop(io_);
                stop.expires_at(end_);
                stop.async_wait([ws](boost::system::error_code ec) {
                    boost::system::error_code ignored;
                    if (!ec) beast::get_lowest_layer(*ws).close(ignored);
                });
                while (running() && !*done) {
                    auto [ec, n] =
                        co_await ws->async_write(asio::buffer(kSnapshotRequest), use_tuple);
                    if (ec) break;
                    ++result_.requests;
                }
                stop.cancel();
                boost::system::error_code ignored;
                beast::get_lowest_layer(*ws).close(ignored);
            }
            if (!running()) break;
            pause.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(o_.reconnect_s)));
            co_await pause.async_wait(use_tuple);
        }
    }

    asio::awaitable<void> reader(std::shared_ptr<WebSocket> ws, std::shared_ptr<bool> done) {
        beast::flat_buffer buffer;
        for (;;) {
            auto [ec, n] = co_await ws->async_read(buffer, use_tuple);
            if (ec) {
                if (running()) ++result_.closed_by_server;
                break;
            }
            const std::string text = beast::buffers_to_string(buffer.data());
            buffer.consume(n);
            const json message = json::parse(text, nullptr, false);
            const std::string type =
                message.is_object() && message.contains("type") && message["type"].is_string()
                    ? message["type"].get<std::string>()
                    : std::string();
            if (type == "snapshot") {
                ++result_.snapshots;
                result_.snapshot_bytes += text.size();
            } else if (type == "error") {
                const auto code = message.find("code");
                ++result_
                      .errors[code != message.end() && code->is_string() ? code->get<std::string>()
                                                                         : std::string("?")];
            } else {
                ++result_.events;
            }
        }
        *done = true;
    }

    const ConsoleFloodOptions& o_;
    asio::io_context io_;  // one thread: the counters need no lock
    asio::ssl::context tls_{asio::ssl::context::tls_client};
    tcp::endpoint endpoint_;
    std::chrono::steady_clock::time_point end_;
    ConsoleFloodResult result_;
};

}  // namespace

std::string ConsoleFloodResult::to_json(const ConsoleFloodOptions& o) const {
    json j = {{"tool", "huxiao-bench console-flood"},
              {"consoles", o.consoles},
              {"duration_s", o.duration_s},
              {"connects", connects},
              {"connect_errors", connect_errors},
              {"requests", requests},
              {"snapshots", snapshots},
              {"snapshot_bytes", snapshot_bytes},
              {"events", events},
              {"closed_by_server", closed_by_server},
              {"errors", errors},
              {"client_cpu_s", client_cpu_s}};
    if (!first_connect_error.empty()) j["first_connect_error"] = first_connect_error;
    return j.dump();
}

ConsoleFloodResult run_console_flood(const ConsoleFloodOptions& options) {
    ConsoleFlood flood(options);
    return flood.run();
}

}  // namespace huxiao::bench
