#include "server/db/incident_log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <functional>

#include "server/app/log.hpp"

namespace huxiao::db {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxQueued = 1'000'000;
// SQLSTATEs worth retrying as they are: serialization failure, deadlock,
// and the class of "operator intervention" (e.g. admin shutdown).
bool transient(const std::string& sqlstate) {
    return sqlstate == "40001" || sqlstate == "40P01" || sqlstate.rfind("57", 0) == 0 ||
           sqlstate.rfind("08", 0) == 0;
}

std::optional<std::string> iso(std::optional<UnixMicros> t) {
    if (!t) return std::nullopt;
    return format_iso_micros(*t);
}

}  // namespace

std::vector<PreparedStatement> IncidentLog::statements() {
    return {
        {"record_alarm",
         "SELECT incident_id, outcome FROM huxiao_record_alarm($1, $2, $3, $4, $5, $6, $7, $8, "
         "$9)"},
        {"record_cancel",
         "SELECT incident_id, outcome FROM huxiao_record_cancel($1, $2, $3, $4, $5)"},
        {"append_event",
         "INSERT INTO incident_events (incident_id, at, type, actor, unit_id, details, event_key) "
         "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT (event_key) DO NOTHING"},
        {"terminal_status",
         "INSERT INTO terminal_status_events (terminal_id, at, online, event_key) "
         "VALUES ($1, $2, $3, $4) ON CONFLICT (event_key) DO NOTHING"},
        {"terminal_seen",
         "UPDATE terminals SET last_seen_at = greatest(coalesce(last_seen_at, $2::timestamptz), "
         "$2::timestamptz)"
         " WHERE id = $1"},
        {"dc09_event",
         "INSERT INTO dc09_events (terminal_id, event_id, meaning, code, received_at) "
         "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"},
        {"prune_positions", "DELETE FROM unit_positions WHERE at < $1"},
        {"unit_position",
         "INSERT INTO unit_positions (unit_id, at, lat, lon) VALUES ($1, $2, $3, $4) "
         "ON CONFLICT DO NOTHING"},
    };
}

IncidentLog::IncidentLog(asio::any_io_executor executor, const DatabaseConfig& config)
    : strand_(asio::make_strand(executor)),
      config_(config),
      pool_(strand_, make_conninfo(config.url, config.connect_timeout_s),
            static_cast<std::size_t>(config.pool_size), statements()),
      lanes_(static_cast<std::size_t>(config.pool_size)),
      sweep_timer_(strand_) {}

IncidentLog::~IncidentLog() = default;

void IncidentLog::start() {
    asio::post(strand_, [this] {
        down_since_ = Clock::now();
        pool_.start([this](std::size_t slot, bool up) {
            up_slots_ += up ? 1 : -1;
            if (up_slots_ > 0) {
                down_since_.reset();
            } else if (!down_since_) {
                down_since_ = Clock::now();
            }
            if (up) pump(slot);
        });
        sweep();
    });
}

void IncidentLog::record_alarm(AlarmRecord record, RecordHandler handler) {
    auto pending = std::make_shared<Pending>();
    pending->handler = std::move(handler);
    asio::post(strand_, [this, record = std::move(record), pending]() mutable {
        const std::string pin = record.join.value_or(record.incident);
        enqueue(pin, Item{std::move(record), pending, false});
    });
}

void IncidentLog::record_cancel(CancelRecord record, RecordHandler handler) {
    auto pending = std::make_shared<Pending>();
    pending->handler = std::move(handler);
    asio::post(strand_, [this, record = std::move(record), pending]() mutable {
        const std::string pin = record.incident_hint.value_or(record.terminal);
        enqueue(pin, Item{std::move(record), pending, false});
    });
}

void IncidentLog::append(TimelineRecord record) {
    asio::post(strand_, [this, record = std::move(record)]() mutable {
        const std::string pin = record.incident;
        enqueue(pin, Item{std::move(record), nullptr, false});
    });
}

void IncidentLog::execute(const std::string& pin, StatementRecord record) {
    asio::post(strand_, [this, pin, record = std::move(record)]() mutable {
        enqueue(pin, Item{std::move(record), nullptr, false});
    });
}

void IncidentLog::enqueue(const std::string& pin, Item item) {
    if (item.pending) {
        if (draining_) {
            answer(*item.pending,
                   {RecordResult::Status::unavailable, {}, {}, "server is shutting down"});
            return;
        }
        item.pending->deadline =
            Clock::now() + std::chrono::milliseconds(config_.alarm_commit_timeout_ms);
        deadlines_.push_back(item.pending);
        // With every connection down for a while, say so at once instead of
        // letting the terminal wait out the deadline; the record stays queued.
        if (down_since_ && Clock::now() - *down_since_ > std::chrono::seconds(1)) {
            answer(*item.pending,
                   {RecordResult::Status::unavailable, {}, {}, "database unreachable"});
        }
    }
    if (stats_.queued >= kMaxQueued) {
        log_error("incident-log", "queue full: dropping a record");
        if (item.pending) {
            answer(*item.pending, {RecordResult::Status::unavailable, {}, {}, "write queue full"});
        }
        return;
    }
    const std::size_t lane = std::hash<std::string>{}(pin) % lanes_.size();
    lanes_[lane].queue.push_back(std::move(item));
    ++stats_.queued;
    pump(lane);
}

PgQuery IncidentLog::to_query(const Item& item) const {
    return std::visit(
        [](const auto& r) -> PgQuery {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, AlarmRecord>) {
                return {"record_alarm",
                        {r.terminal, r.event_id, r.incident, r.join, r.kind, iso(r.terminal_at),
                         r.drill ? "true" : "false",
                         r.note.empty() ? std::nullopt : std::optional<std::string>(r.note),
                         format_iso_micros(r.received_at)}};
            } else if constexpr (std::is_same_v<T, CancelRecord>) {
                return {"record_cancel",
                        {r.terminal, r.event_id, r.alarm_id, r.reason,
                         format_iso_micros(r.received_at)}};
            } else if constexpr (std::is_same_v<T, StatementRecord>) {
                return {r.statement, r.params};
            } else {
                return {"append_event",
                        {r.incident, format_iso_micros(r.at), r.type, r.actor, r.unit,
                         r.details_json, r.event_key}};
            }
        },
        item.record);
}

void IncidentLog::pump(std::size_t lane_index) {
    Lane& lane = lanes_[lane_index];
    if (lane.busy || lane.queue.empty() || !pool_.ready(lane_index)) return;
    // Everything queued so far goes in one batch (up to batch_max): the
    // longer the last commit took, the more this one carries.
    std::vector<Item> items;
    const std::size_t limit =
        lane.queue.front().solo ? 1 : static_cast<std::size_t>(config_.batch_max);
    while (!lane.queue.empty() && items.size() < limit &&
           !(lane.queue.front().solo && !items.empty())) {
        items.push_back(std::move(lane.queue.front()));
        lane.queue.pop_front();
    }
    std::vector<PgQuery> queries;
    queries.reserve(items.size());
    for (const auto& item : items) queries.push_back(to_query(item));
    lane.busy = true;
    auto shared_items = std::make_shared<std::vector<Item>>(std::move(items));
    pool_.submit(lane_index, std::move(queries),
                 [this, lane_index, shared_items](PgBatchOutcome outcome) {
                     on_batch_done(lane_index, std::move(*shared_items), std::move(outcome));
                 });
}

void IncidentLog::on_batch_done(std::size_t lane_index, std::vector<Item> items,
                                PgBatchOutcome outcome) {
    Lane& lane = lanes_[lane_index];
    lane.busy = false;
    if (!outcome.failure) {
        ++stats_.batches;
        stats_.records += items.size();
        stats_.queued -= items.size();
        for (std::size_t i = 0; i < items.size(); ++i) {
            Item& item = items[i];
            if (!item.pending) continue;
            const PGresult* r = outcome.results[i].get();
            RecordResult result{RecordResult::Status::committed, {}, {}, {}};
            if (PQntuples(r) == 1) {
                result.incident = cell(r, 0, 0);
                result.outcome = cell(r, 0, 1);
            }
            answer(*item.pending, std::move(result));
        }
    } else {
        const PgFailure& f = *outcome.failure;
        const bool sql_error = f.ec == make_error_code(PgErrc::query_failed);
        if (sql_error && !transient(f.sqlstate) && items.size() == 1) {
            // This record itself is refused by the database: retrying as is cannot help.
            stats_.queued -= 1;
            ++stats_.rejected;
            log_error("incident-log", "record refused [" + f.sqlstate + "]: " + f.message);
            if (items[0].pending) {
                answer(*items[0].pending, {RecordResult::Status::rejected, {}, {}, f.message});
            }
        } else {
            // Put the batch back in front, in order. After an SQL error each
            // record goes alone, so one bad record cannot hold up the others.
            ++stats_.retries;
            if (sql_error) {
                log_warn("incident-log", "batch of " + std::to_string(items.size()) + " failed [" +
                                             f.sqlstate + "], retrying: " + f.message);
            }
            for (auto it = items.rbegin(); it != items.rend(); ++it) {
                it->solo = it->solo || (sql_error && !transient(f.sqlstate));
                lane.queue.push_front(std::move(*it));
            }
        }
    }
    pump(lane_index);
    check_drained();
}

void IncidentLog::answer(Pending& pending, RecordResult result) {
    if (pending.answered) return;
    pending.answered = true;
    if (result.status == RecordResult::Status::unavailable) ++stats_.unavailable;
    auto handler = std::move(pending.handler);
    handler(std::move(result));
}

void IncidentLog::sweep() {
    const auto now = Clock::now();
    while (!deadlines_.empty() &&
           (deadlines_.front()->answered || deadlines_.front()->deadline <= now)) {
        auto pending = std::move(deadlines_.front());
        deadlines_.pop_front();
        answer(*pending, {RecordResult::Status::unavailable,
                          {},
                          {},
                          "the alarm could not be made durable in time"});
    }
    sweep_timer_.expires_after(std::chrono::milliseconds(50));
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) sweep();
    });
}

void IncidentLog::drain(std::chrono::milliseconds timeout, std::function<void()> done) {
    asio::post(strand_, [this, timeout, done = std::move(done)]() mutable {
        draining_ = true;
        drained_ = std::move(done);
        drain_timer_ = std::make_unique<asio::steady_timer>(strand_, timeout);
        drain_timer_->async_wait([this](boost::system::error_code ec) {
            if (ec || !drained_) return;
            log_warn("incident-log",
                     std::to_string(stats_.queued.load()) + " records not committed at shutdown");
            check_drained(/*force=*/true);
        });
        check_drained();
    });
}

void IncidentLog::check_drained(bool force) {
    if (!draining_ || !drained_) return;
    for (const auto& lane : lanes_) {
        if (!force && (lane.busy || !lane.queue.empty())) return;
    }
    sweep_timer_.cancel();
    if (drain_timer_) drain_timer_->cancel();
    pool_.stop();
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
}

}  // namespace huxiao::db
