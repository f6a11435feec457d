// Changes made to the registry and the tokens outside the running server
// (`huxiaod import`, `huxiaod token`, SQL by an operator, another server
// behind the same database) reach it through PostgreSQL's LISTEN/NOTIFY: the
// triggers of sql/011 notify on every change, and this listener hands each
// notice to the server, which reloads the registry or forgets a token and
// ends the sessions they no longer allow (contract 1.1: within 1 s).
//
// One dedicated connection, outside the pipelines. While it is down, notices
// are lost; so after every (re)connection `on_change` is called with the
// channel kResync, and the server reloads everything it would on a notice.
//
// Not thread-safe: runs on its own strand; `on_change` is called there.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

extern "C" {
struct pg_conn;
}

namespace huxiao::db {

// The channels sql/011 notifies on.
inline constexpr const char* kRegistryChannel = "huxiao_registry";  // payload: the table
inline constexpr const char* kTokenChannel = "huxiao_token";        // payload: the token's name
inline constexpr const char* kResync = "";  // (re)connected: anything may have changed

class ChangeListener : public std::enable_shared_from_this<ChangeListener> {
  public:
    using Handler = std::function<void(const std::string& channel, const std::string& payload)>;

    ChangeListener(boost::asio::any_io_executor executor, boost::asio::thread_pool& blocking,
                   std::string conninfo, Handler on_change);
    ~ChangeListener();
    ChangeListener(const ChangeListener&) = delete;
    ChangeListener& operator=(const ChangeListener&) = delete;

    void start();
    void stop();

  private:
    void connect();
    void on_connected(pg_conn* conn, const std::string& error);
    void wait_readable();
    void on_readable();
    void lost(const std::string& why);

    boost::asio::any_io_executor strand_;
    boost::asio::thread_pool& blocking_;
    std::string conninfo_;
    Handler on_change_;
    pg_conn* conn_ = nullptr;
    std::optional<boost::asio::posix::stream_descriptor> socket_;  // a dup of libpq's socket
    boost::asio::steady_timer retry_;
    std::chrono::milliseconds backoff_{0};
    bool stopped_ = false;
    bool logged_down_ = false;
};

}  // namespace huxiao::db
