#include "server/db/change_listener.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "server/base/log.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{10'000};

std::string message_of(PGconn* conn) {
    std::string m = conn ? PQerrorMessage(conn) : "out of memory";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
}

}  // namespace

ChangeListener::ChangeListener(asio::any_io_executor executor, asio::thread_pool& blocking,
                               std::string conninfo, Handler on_change)
    : strand_(asio::make_strand(executor)),
      blocking_(blocking),
      conninfo_(std::move(conninfo)),
      on_change_(std::move(on_change)),
      retry_(strand_) {}

ChangeListener::~ChangeListener() {
    if (conn_) PQfinish(conn_);
}

void ChangeListener::start() {
    asio::post(strand_, [self = shared_from_this()] { self->connect(); });
}

void ChangeListener::stop() {
    asio::post(strand_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->retry_.cancel();
        if (self->socket_) {
            boost::system::error_code ignored;
            self->socket_->close(ignored);
            self->socket_.reset();
        }
        if (self->conn_) {
            PQfinish(self->conn_);
            self->conn_ = nullptr;
        }
    });
}

void ChangeListener::connect() {
    if (stopped_) return;
    // Connecting blocks (name lookup, authentication): never on an I/O thread.
    asio::post(blocking_, [self = shared_from_this()] {
        PGconn* conn = PQconnectdb(self->conninfo_.c_str());
        std::string error;
        if (PQstatus(conn) != CONNECTION_OK) {
            error = message_of(conn);
        } else {
            // Constant channel names, never client input.
            const std::string sql =
                std::string("LISTEN ") + kRegistryChannel + "; LISTEN " + kTokenChannel;
            PGresult* r = PQexec(conn, sql.c_str());
            if (PQresultStatus(r) != PGRES_COMMAND_OK) error = message_of(conn);
            PQclear(r);
            if (error.empty() && PQsetnonblocking(conn, 1) != 0) error = message_of(conn);
        }
        if (!error.empty()) {
            PQfinish(conn);
            conn = nullptr;
        }
        asio::post(self->strand_, [self, conn, error] { self->on_connected(conn, error); });
    });
}

void ChangeListener::on_connected(PGconn* conn, const std::string& error) {
    if (stopped_) {
        if (conn) PQfinish(conn);
        return;
    }
    if (!conn) {
        lost("cannot listen for registry and token changes: " + error);
        return;
    }
    // Asio gets its own descriptor so that closing it never closes libpq's.
    const int fd = ::dup(PQsocket(conn));
    if (fd < 0) {
        PQfinish(conn);
        lost("dup() of the socket failed");
        return;
    }
    conn_ = conn;
    socket_.emplace(strand_, fd);
    backoff_ = std::chrono::milliseconds(0);
    if (logged_down_) log_info("changes", "listening for registry and token changes again");
    logged_down_ = false;
    // Whatever changed while nobody listened is picked up now.
    on_change_(kResync, "");
    wait_readable();
}

void ChangeListener::wait_readable() {
    socket_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this()](boost::system::error_code ec) {
                            if (self->stopped_ || ec == asio::error::operation_aborted) return;
                            if (ec) {
                                self->lost(ec.message());
                                return;
                            }
                            self->on_readable();
                        });
}

void ChangeListener::on_readable() {
    if (PQconsumeInput(conn_) != 1) {
        lost(message_of(conn_));
        return;
    }
    while (PGnotify* n = PQnotifies(conn_)) {
        const std::string channel = n->relname ? n->relname : "";
        const std::string payload = n->extra ? n->extra : "";
        PQfreemem(n);
        on_change_(channel, payload);
    }
    wait_readable();
}

void ChangeListener::lost(const std::string& why) {
    if (socket_) {
        boost::system::error_code ignored;
        socket_->close(ignored);
        socket_.reset();
    }
    if (conn_) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    if (stopped_) return;
    if (!logged_down_) {
        log_warn("changes", why + "; changes made outside this server reach it after reconnecting");
        logged_down_ = true;
    }
    backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
    retry_.expires_after(backoff_);
    retry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->connect();
    });
}

}  // namespace huxiao::db
