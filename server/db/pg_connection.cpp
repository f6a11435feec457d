#include "server/db/pg_connection.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <stdexcept>

namespace huxiao::db {

namespace asio = boost::asio;

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string error_message(PGconn* conn) { return trim(PQerrorMessage(conn)); }

}  // namespace

namespace {
// Seconds of silence before probing, between probes, probes before giving up;
// and how long sent data may stay unacknowledged (milliseconds).
constexpr const char* kKeepalivesIdle = "5";
constexpr const char* kKeepalivesInterval = "2";
constexpr const char* kKeepalivesCount = "3";
constexpr const char* kTcpUserTimeoutMs = "10000";
}  // namespace

std::string make_conninfo(const std::string& url, int connect_timeout_s,
                          const char* session_attrs) {
    const std::vector<std::pair<const char*, std::string>> wanted = {
        {"connect_timeout", std::to_string(connect_timeout_s)},
        {"keepalives", "1"},
        {"keepalives_idle", kKeepalivesIdle},
        {"keepalives_interval", kKeepalivesInterval},
        {"keepalives_count", kKeepalivesCount},
        {"tcp_user_timeout", kTcpUserTimeoutMs},
        {"target_session_attrs", session_attrs},
        {"application_name", "huxiaod"},
    };
    // libpq accepts either a URI or key=value pairs; options are added in
    // the matching syntax. In key=value form a later key wins, so ours go first.
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        std::string extra;
        for (const auto& [key, value] : wanted) {
            if (url.find(std::string(key) + "=") != std::string::npos) continue;
            extra += (extra.empty() && url.find('?') == std::string::npos ? "?" : "&");
            extra += std::string(key) + "=" + value;
        }
        return url + extra;
    }
    std::string options;
    for (const auto& [key, value] : wanted) options += std::string(key) + "=" + value + " ";
    return options + url;
}

PgConnection::PgConnection(asio::any_io_executor strand, asio::thread_pool& blocking,
                           std::string conninfo, std::vector<PreparedStatement> statements,
                           PgSessionOptions options)
    : strand_(std::move(strand)),
      blocking_(blocking),
      conninfo_(std::move(conninfo)),
      statements_(std::move(statements)),
      options_(std::move(options)) {}

PgConnection::~PgConnection() {
    if (socket_) {
        boost::system::error_code ignored;
        socket_->close(ignored);
    }
    if (conn_) PQfinish(conn_);
}

void PgConnection::async_connect(ConnectHandler handler) {
    // The blocking part runs off the I/O threads; the result comes back on
    // the strand.
    asio::post(blocking_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
        PGconn* conn = PQconnectdb(self->conninfo_.c_str());
        std::optional<PgFailure> failure;
        if (PQstatus(conn) != CONNECTION_OK) {
            failure = PgFailure{PgErrc::connect_failed, {}, error_message(conn)};
        } else {
            for (const auto& sql : self->options_.setup) {
                PgResult r(PQexec(conn, sql.c_str()));
                if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
                    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                    failure = PgFailure{PgErrc::connect_failed, state ? state : "",
                                        "running \"" + sql + "\": " + error_message(conn)};
                    break;
                }
            }
            for (const auto& st : self->statements_) {
                if (failure) break;
                PgResult r(PQprepare(conn, st.name.c_str(), st.sql.c_str(), 0, nullptr));
                if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
                    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                    failure = PgFailure{PgErrc::connect_failed, state ? state : "",
                                        "preparing " + st.name + ": " + error_message(conn)};
                    break;
                }
            }
            if (!failure && (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1)) {
                failure = PgFailure{PgErrc::connect_failed, {}, error_message(conn)};
            }
        }
        if (failure) {
            PQfinish(conn);
            conn = nullptr;
        }
        asio::post(self->strand_, [self, conn, failure = std::move(failure),
                                   handler = std::move(handler)]() mutable {
            if (conn) {
                self->conn_ = conn;
                // Asio gets its own descriptor so that closing it never closes
                // the socket libpq owns.
                const int fd = ::dup(PQsocket(conn));
                if (fd < 0) {
                    self->conn_ = nullptr;
                    PQfinish(conn);
                    handler(PgFailure{PgErrc::connect_failed, {}, "dup() of the socket failed"});
                    return;
                }
                self->socket_.emplace(self->strand_, fd);
            }
            handler(std::move(failure));
        });
    });
}

void PgConnection::submit(std::vector<PgQuery> queries, BatchHandler handler) {
    if (!ready()) {
        asio::post(strand_, [handler = std::move(handler)] {
            handler({PgFailure{PgErrc::not_connected, {}, "not connected"}, {}});
        });
        return;
    }
    for (const auto& q : queries) {
        std::vector<const char*> values;
        values.reserve(q.params.size());
        for (const auto& p : q.params) values.push_back(p ? p->c_str() : nullptr);
        const int n = static_cast<int>(values.size());
        const int sent = q.prepared ? PQsendQueryPrepared(conn_, q.statement.c_str(), n,
                                                          values.data(), nullptr, nullptr, 0)
                                    : PQsendQueryParams(conn_, q.statement.c_str(), n, nullptr,
                                                        values.data(), nullptr, nullptr, 0);
        if (sent != 1) {
            // Nothing of this batch counts; the connection is in an unknown state.
            batches_.push_back(Batch{{}, {}, std::move(handler), {}});
            fail(PgErrc::connection_lost, error_message(conn_));
            return;
        }
    }
    if (PQpipelineSync(conn_) != 1) {
        batches_.push_back(Batch{{}, {}, std::move(handler), {}});
        fail(PgErrc::connection_lost, error_message(conn_));
        return;
    }
    Batch batch;
    batch.results.reserve(queries.size());
    batch.handler = std::move(handler);
    batch.sent_at = std::chrono::steady_clock::now();
    batches_.push_back(std::move(batch));
    tracker_.on_batch_sent(queries.size());
    if (batches_.size() == 1) arm_deadline();
    flush();
    wait_readable();
}

void PgConnection::flush() {
    if (broken_ || writing_) return;
    const int r = PQflush(conn_);
    if (r < 0) {
        fail(PgErrc::connection_lost, error_message(conn_));
    } else if (r == 1) {
        // Output is queued: wait until the socket takes more. Reading goes on
        // meanwhile, so a server blocked on sending results cannot deadlock us.
        writing_ = true;
        socket_->async_wait(asio::posix::stream_descriptor::wait_write,
                            [self = shared_from_this()](boost::system::error_code ec) {
                                self->writing_ = false;
                                if (ec || self->broken_) return;
                                self->flush();
                            });
    }
}

void PgConnection::wait_readable() {
    if (broken_ || reading_ || batches_.empty()) return;
    reading_ = true;
    socket_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this()](boost::system::error_code ec) {
                            self->reading_ = false;
                            if (self->broken_) return;
                            if (ec) {
                                self->fail(PgErrc::connection_lost, ec.message());
                                return;
                            }
                            self->on_readable();
                        });
}

void PgConnection::on_readable() {
    if (PQconsumeInput(conn_) != 1) {
        fail(PgErrc::connection_lost, error_message(conn_));
        return;
    }
    drain_results();
    if (broken_) return;
    flush();  // consuming input may have made room to write
    wait_readable();
}

namespace {
PipelineResult kind_of(const PGresult* r) {
    if (!r) return PipelineResult::end_of_query;
    switch (PQresultStatus(r)) {
        case PGRES_PIPELINE_SYNC:
            return PipelineResult::sync;
        case PGRES_FATAL_ERROR:
            return PipelineResult::error;
        case PGRES_PIPELINE_ABORTED:
            return PipelineResult::aborted;
        default:
            return PipelineResult::data;
    }
}
}  // namespace

void PgConnection::drain_results() {
    using Action = PipelineStep::Action;
    while (!broken_ && !batches_.empty() && !PQisBusy(conn_)) {
        PgResult r(PQgetResult(conn_));
        const PipelineStep step = tracker_.on_result(kind_of(r.get()));
        Batch& batch = batches_.front();
        switch (step.action) {
            case Action::keep:
                batch.results.push_back(std::move(r));
                break;
            case Action::first_error: {
                const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                batch.failure = PgFailure{PgErrc::query_failed, state ? state : "",
                                          trim(PQresultErrorMessage(r.get()))};
                break;
            }
            case Action::ignore:
                break;
            case Action::complete: {
                Batch finished = std::move(batch);
                batches_.pop_front();
                arm_deadline();
                if (finished.failure) finished.results.clear();
                finished.handler({std::move(finished.failure), std::move(finished.results)});
                break;
            }
            case Action::wait:
                return;
            case Action::mismatch:
                fail(PgErrc::protocol_mismatch, std::string(step.reason));
                return;
        }
        if (PQstatus(conn_) == CONNECTION_BAD) {
            fail(PgErrc::connection_lost, error_message(conn_));
            return;
        }
    }
}

void PgConnection::arm_deadline() {
    if (options_.batch_timeout.count() <= 0 || broken_) return;
    if (!deadline_) deadline_.emplace(strand_);
    if (batches_.empty()) {
        deadline_->cancel();
        return;
    }
    // The oldest batch in flight sets the deadline: results come in order.
    deadline_->expires_at(batches_.front().sent_at + options_.batch_timeout);
    deadline_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->broken_ || self->batches_.empty()) return;
        if (std::chrono::steady_clock::now() <
            self->batches_.front().sent_at + self->options_.batch_timeout) {
            return;  // re-armed for a younger batch meanwhile
        }
        self->fail(PgErrc::timed_out, "no answer from PostgreSQL within " +
                                          std::to_string(self->options_.batch_timeout.count()) +
                                          " ms");
    });
}

void PgConnection::fail(PgErrc reason, std::string message) {
    if (broken_) return;
    broken_ = true;
    auto batches = std::move(batches_);
    batches_.clear();
    tracker_.clear();
    if (deadline_) deadline_->cancel();
    for (auto& b : batches) {
        b.handler({PgFailure{reason, {}, message}, {}});
    }
    if (socket_) {
        boost::system::error_code ignored;
        socket_->close(ignored);
    }
    if (on_lost_ && reason != PgErrc::shutting_down) {
        auto lost = std::move(on_lost_);
        lost(PgFailure{reason, {}, message});
    }
}

void PgConnection::close(PgErrc reason) { fail(reason, "connection closed"); }

PgSync::PgSync(const std::string& conninfo, int connect_timeout_s) {
    conn_ = PQconnectdb(make_conninfo(conninfo, connect_timeout_s).c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string message = error_message(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        throw std::runtime_error("cannot connect to the database: " + message);
    }
    PgResult quiet(PQexec(conn_, "SET client_min_messages = warning"));
}

PgSync::~PgSync() {
    if (conn_) PQfinish(conn_);
}

PgResult PgSync::exec(const std::string& sql,
                      const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error(trim(PQresultErrorMessage(r.get())));
    }
    return r;
}

}  // namespace huxiao::db
