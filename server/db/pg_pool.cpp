#include "server/db/pg_pool.hpp"

#include <boost/asio/post.hpp>

#include "server/base/log.hpp"

namespace huxiao::db {

namespace asio = boost::asio;

PgPool::PgPool(asio::any_io_executor strand, std::string conninfo, std::size_t size,
               std::vector<PreparedStatement> statements, PgSessionOptions options)
    : strand_(std::move(strand)),
      conninfo_(std::move(conninfo)),
      statements_(std::move(statements)),
      options_(std::move(options)),
      slots_(size) {
    for (auto& s : slots_) s.retry = std::make_unique<asio::steady_timer>(strand_);
}

PgPool::~PgPool() {
    *alive_ = false;
    blocking_.join();
}

void PgPool::start(StateHandler on_state) {
    on_state_ = std::move(on_state);
    for (std::size_t i = 0; i < slots_.size(); ++i) connect(i);
}

void PgPool::stop() {
    stopped_ = true;
    for (auto& s : slots_) {
        s.retry->cancel();
        if (s.connection) s.connection->close(PgErrc::shutting_down);
    }
}

bool PgPool::ready(std::size_t slot) const {
    const auto& c = slots_[slot].connection;
    return c && c->ready();
}

std::size_t PgPool::ready_count() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) n += ready(i);
    return n;
}

std::size_t PgPool::in_flight(std::size_t slot) const {
    const auto& c = slots_[slot].connection;
    return c ? c->in_flight() : 0;
}

void PgPool::connect(std::size_t slot) {
    if (stopped_) return;
    auto connection =
        std::make_shared<PgConnection>(strand_, blocking_, conninfo_, statements_, options_);
    slots_[slot].connection = connection;
    connection->async_connect([this, slot, connection, alive = alive_](auto failure) {
        if (!*alive || stopped_ || slots_[slot].connection != connection) return;
        if (failure) {
            if (last_error_ != failure->message) {
                log_warn("database", "connection failed: " + failure->message);
            }
            last_error_ = failure->message;
            slots_[slot].connection.reset();
            schedule_reconnect(slot);
            return;
        }
        last_error_.clear();
        slots_[slot].backoff = std::chrono::milliseconds(100);
        flush_waiting();
        connection->on_lost([this, slot, alive](const PgFailure& lost) {
            if (!*alive) return;
            log_warn("database", "connection lost: " + lost.message);
            last_error_ = lost.message;
            // Reconnect from a fresh handler: we are inside the connection's call stack.
            asio::post(strand_, [this, slot, alive] {
                if (!*alive) return;
                slots_[slot].connection.reset();
                if (on_state_) on_state_(slot, false);
                schedule_reconnect(slot);
            });
        });
        if (on_state_) on_state_(slot, true);
    });
}

void PgPool::schedule_reconnect(std::size_t slot) {
    if (stopped_) return;
    auto& s = slots_[slot];
    s.retry->expires_after(s.backoff);
    s.backoff = std::min(s.backoff * 2, std::chrono::milliseconds(2000));
    s.retry->async_wait([this, slot, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive) connect(slot);
    });
}

void PgPool::submit(std::size_t slot, std::vector<PgQuery> queries,
                    PgConnection::BatchHandler handler) {
    auto& c = slots_[slot].connection;
    if (!c || !c->ready()) {
        asio::post(strand_, [handler = std::move(handler)] {
            handler({PgFailure{PgErrc::not_connected, {}, "not connected"}, {}});
        });
        return;
    }
    c->submit(std::move(queries), std::move(handler));
}

void PgPool::flush_waiting() {
    const auto now = std::chrono::steady_clock::now();
    while (!waiting_.empty() && (ready_count() > 0 || waiting_.front().deadline <= now)) {
        Waiting w = std::move(waiting_.front());
        waiting_.pop_front();
        if (ready_count() == 0) {
            asio::post(strand_, [handler = std::move(w.handler)] {
                handler({PgFailure{PgErrc::timed_out, {}, "no database connection came up in time"},
                         {}});
            });
            continue;
        }
        submit_any(std::move(w.queries), std::move(w.handler));
    }
    if (!waiting_.empty()) {
        if (!waiting_timer_) waiting_timer_ = std::make_unique<asio::steady_timer>(strand_);
        waiting_timer_->expires_at(waiting_.front().deadline);
        waiting_timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
            if (!ec && *alive) flush_waiting();
        });
    }
}

void PgPool::submit_any(std::vector<PgQuery> queries, PgConnection::BatchHandler handler,
                        std::chrono::milliseconds wait) {
    std::size_t best = slots_.size();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (ready(i) && (best == slots_.size() || in_flight(i) < in_flight(best))) best = i;
    }
    if (best == slots_.size() && wait.count() > 0 && !stopped_ && waiting_.size() < 10000) {
        waiting_.push_back(
            {std::move(queries), std::move(handler), std::chrono::steady_clock::now() + wait});
        if (waiting_.size() == 1) flush_waiting();
        return;
    }
    if (best == slots_.size()) {
        asio::post(strand_, [handler = std::move(handler)] {
            handler({PgFailure{PgErrc::not_connected, {}, "no database connection"}, {}});
        });
        return;
    }
    submit(best, std::move(queries), std::move(handler));
}

}  // namespace huxiao::db
