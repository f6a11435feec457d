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

std::string make_conninfo(const std::string& url, int connect_timeout_s) {
    const std::string options = "connect_timeout=" + std::to_string(connect_timeout_s) +
                                " keepalives=1 keepalives_idle=5 keepalives_interval=2"
                                " keepalives_count=3 application_name=huxiaod";
    // libpq accepts either a URI or key=value pairs; options are appended in
    // the matching syntax without overriding what the operator wrote.
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        std::string extra;
        const auto add = [&](const char* key, const std::string& value) {
            if (url.find(std::string(key) + "=") == std::string::npos) {
                extra += (extra.empty() && url.find('?') == std::string::npos ? "?" : "&");
                extra += std::string(key) + "=" + value;
            }
        };
        add("connect_timeout", std::to_string(connect_timeout_s));
        add("keepalives", "1");
        add("keepalives_idle", "5");
        add("keepalives_interval", "2");
        add("keepalives_count", "3");
        add("application_name", "huxiaod");
        return url + extra;
    }
    return options + " " + url;
}

PgConnection::PgConnection(asio::any_io_executor strand, asio::thread_pool& blocking,
                           std::string conninfo, std::vector<PreparedStatement> statements)
    : strand_(std::move(strand)),
      blocking_(blocking),
      conninfo_(std::move(conninfo)),
      statements_(std::move(statements)) {}

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
            for (const auto& st : self->statements_) {
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
            batches_.push_back(Batch{queries.size(), 0, {}, {}, std::move(handler)});
            fail(PgErrc::connection_lost, error_message(conn_));
            return;
        }
    }
    if (PQpipelineSync(conn_) != 1) {
        batches_.push_back(Batch{queries.size(), 0, {}, {}, std::move(handler)});
        fail(PgErrc::connection_lost, error_message(conn_));
        return;
    }
    Batch batch;
    batch.queries = queries.size();
    batch.results.reserve(queries.size());
    batch.handler = std::move(handler);
    batches_.push_back(std::move(batch));
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

void PgConnection::drain_results() {
    while (!broken_ && !batches_.empty() && !PQisBusy(conn_)) {
        PgResult r(PQgetResult(conn_));
        Batch& batch = batches_.front();
        if (!r) {
            // End of one query's results. A NULL with every query already
            // ended means libpq has nothing until the Sync arrives.
            if (batch.done == batch.queries) break;
            ++batch.done;
            continue;
        }
        switch (PQresultStatus(r.get())) {
            case PGRES_PIPELINE_SYNC: {
                if (batch.done != batch.queries) {
                    fail(PgErrc::protocol_mismatch, "Sync arrived before all results of its batch");
                    return;
                }
                Batch finished = std::move(batch);
                batches_.pop_front();
                finished.handler({std::move(finished.failure), finished.failure
                                                                   ? std::vector<PgResult>{}
                                                                   : std::move(finished.results)});
                break;
            }
            case PGRES_FATAL_ERROR:
                if (!batch.failure) {
                    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                    batch.failure = PgFailure{PgErrc::query_failed, state ? state : "",
                                              trim(PQresultErrorMessage(r.get()))};
                }
                break;
            case PGRES_PIPELINE_ABORTED:
                break;  // a later query of a batch that already failed
            default:
                if (batch.results.size() < batch.queries) batch.results.push_back(std::move(r));
                break;
        }
        if (PQstatus(conn_) == CONNECTION_BAD) {
            fail(PgErrc::connection_lost, error_message(conn_));
            return;
        }
    }
}

void PgConnection::fail(PgErrc reason, std::string message) {
    if (broken_) return;
    broken_ = true;
    auto batches = std::move(batches_);
    batches_.clear();
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
