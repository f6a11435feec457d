#include "server/db/incident_log.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

#include "server/base/log.hpp"

namespace huxiao::db {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Caps per class (see the header). Alarms and cancels are always admitted:
// one is a few hundred bytes, and refusing one would orphan an incident that
// dispatch has already acted on.
constexpr std::size_t kMaxQueuedCritical = 2'000'000;
constexpr std::size_t kMaxQueuedBackground = 200'000;
// Backoff of a lane after a transient failure: doubles up to the maximum.
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and values past Unicode are refused by PostgreSQL too.
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

// A JSON text (a jsonb parameter) that spells a NUL character as
// backslash-u0000, which jsonb refuses (22P05); an escaped backslash before
// "u0000" is fine.
bool json_has_nul_escape(std::string_view s) {
    for (std::size_t at = s.find("u0000"); at != std::string_view::npos;
         at = s.find("u0000", at + 1)) {
        std::size_t backslashes = 0;
        while (backslashes < at && s[at - 1 - backslashes] == '\\') ++backslashes;
        if (backslashes % 2 == 1) return true;
    }
    return false;
}

// One element of a PostgreSQL array literal, bound as a parameter (never
// spliced into SQL text): NULL, or the text in double quotes with `"` and
// `\` escaped, which PostgreSQL's array input reads back byte for byte.
void add_array_element(std::string& out, const std::string* value) {
    if (out.size() > 1) out += ',';
    if (!value) {
        out += "NULL";
        return;
    }
    out += '"';
    // Appended in runs between the characters to escape (a character at a
    // time was 3.5k instructions per alarm; find_first_of, a memchr per
    // character, was worse).
    const char* run = value->data();
    const char* const end = run + value->size();
    for (const char* p = run; p != end; ++p) {
        if (*p == '"' || *p == '\\') {
            out.append(run, static_cast<std::size_t>(p - run));
            out += '\\';
            run = p;  // the character itself starts the next run
        }
    }
    out.append(run, static_cast<std::size_t>(end - run));
    out += '"';
}

// The record_alarms query for a run of alarms: nine arrays, element i of
// each being alarm i ($1 terminal, $2 event id, $3 proposed incident, $4 the
// incident joined or NULL, $5 kind, $6 terminal time or NULL, $7 drill, $8
// note or NULL, $9 received at), appended in place (no per-alarm vector of
// copies: docs/performance.md §4.5).
PgQuery alarms_query(const std::vector<const AlarmRecord*>& alarms) {
    std::vector<std::optional<std::string>> params(9, std::string("{"));
    for (auto& p : params) p->reserve(2 + alarms.size() * 32);
    std::string at, received;
    for (const AlarmRecord* r : alarms) {
        add_array_element(*params[0], &r->terminal);
        add_array_element(*params[1], &r->event_id);
        add_array_element(*params[2], &r->incident);
        add_array_element(*params[3], r->join ? &*r->join : nullptr);
        add_array_element(*params[4], &r->kind);
        if (r->terminal_at) at = format_iso_micros(*r->terminal_at);
        add_array_element(*params[5], r->terminal_at ? &at : nullptr);
        static const std::string kTrue = "true", kFalse = "false";
        add_array_element(*params[6], r->drill ? &kTrue : &kFalse);
        add_array_element(*params[7], r->note.empty() ? nullptr : &r->note);
        received = format_iso_micros(r->received_at);
        add_array_element(*params[8], &received);
    }
    for (auto& p : params) *p += '}';
    return {"record_alarms", std::move(params)};
}

// The keys that order records besides the pin (Item::keys), as hashes; a
// collision only makes two records wait for each other needlessly. Mixed so
// that a terminal, a unit and a pin of the same name are different keys.
std::size_t terminal_key(const std::string& terminal) {
    return std::hash<std::string>{}(terminal)*0x9E3779B97F4A7C15ULL + 1;
}
std::size_t unit_key(const std::string& unit) {
    return std::hash<std::string>{}(unit)*0xC2B2AE3D27D4EB4FULL + 2;
}

std::string describe(const PgQuery& q) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : q.params) params.push_back(p ? nlohmann::json(*p) : nlohmann::json());
    // Invalid UTF-8 is replaced, control characters (NUL too) are escaped:
    // the text is safe for a log line and for a text column.
    return params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

namespace {

// Why parameter i (0-based) cannot be written, or nothing.
std::optional<std::string> parameter_unwritable(std::size_t i, const std::string& p, bool jsonb) {
    // Built only for a refusal: this runs for every record.
    const auto which = [i] { return "parameter $" + std::to_string(i + 1); };
    if (p.find('\0') != std::string::npos) return which() + " contains a NUL character";
    if (!valid_utf8(p)) return which() + " is not valid UTF-8";
    if (jsonb && json_has_nul_escape(p)) {
        return which() + " is JSON with a NUL character (\\u0000)";
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> unwritable_reason(const std::vector<std::optional<std::string>>& params,
                                             std::optional<std::size_t> jsonb_param) {
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!params[i]) continue;
        if (auto why = parameter_unwritable(i, *params[i], jsonb_param == i)) return why;
    }
    return std::nullopt;
}

std::optional<std::string> unwritable_reason(const AlarmRecord& r) {
    // The parameters of alarms_query, numbered alike; $6, $7 and $9 are the
    // server's own formatting (ASCII) and are not looked at.
    const std::string* const text[] = {
        &r.terminal, &r.event_id, &r.incident, r.join ? &*r.join : nullptr,
        &r.kind,     nullptr,     nullptr,     r.note.empty() ? nullptr : &r.note};
    for (std::size_t i = 0; i < std::size(text); ++i) {
        if (!text[i]) continue;
        if (auto why = parameter_unwritable(i, *text[i], false)) return why;
    }
    return std::nullopt;
}

std::vector<PreparedStatement> IncidentLog::statements() {
    return {
        // One statement per run of alarms in a batch (sql/013): the arrays'
        // element i is alarm i; one row per alarm comes back, in order.
        {"record_alarms",
         "SELECT incident_id, outcome FROM huxiao_record_alarms($1::text[], $2::text[], "
         "$3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::boolean[], $8::text[], "
         "$9::timestamptz[])"},
        {"record_cancel",
         "SELECT incident_id, outcome, pg_current_xact_id() FROM huxiao_record_cancel($1, $2, $3, "
         "$4, $5)"},
        {"append_event",
         "INSERT INTO incident_events (incident_id, at, type, actor, unit_id, details, event_key) "
         "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)"
         " ON CONFLICT (event_key) WHERE event_key IS NOT NULL DO NOTHING"},
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
        // Contract §8: a leader's batches start with this (sql/012).
        {"fence", "SELECT huxiao_fence($1)"},
        // Once, even when its batch is retried (sql/016).
        {"dead_letter",
         "INSERT INTO dead_letters (statement, params, sqlstate, message, letter_key) "
         "VALUES ($1, $2, $3, $4, $5)"
         " ON CONFLICT (letter_key) WHERE letter_key IS NOT NULL DO NOTHING"},
    };
}

PgSessionOptions IncidentLog::session_options() {
    return {
        // A lock held elsewhere (a long import, a psql session left open)
        // fails the batch quickly instead of stalling every record behind it;
        // the batch is retried (55P03 and 57014 are transient).
        {"SET lock_timeout = '5s'", "SET statement_timeout = '30s'",
         "SET idle_in_transaction_session_timeout = '60s'"},
        // Past this, a batch's connection is dropped and the batch retried:
        // a stopped server still answers keepalives, and a synchronous
        // replication wait has no statement_timeout.
        std::chrono::seconds(45),
    };
}

IncidentLog::IncidentLog(asio::any_io_executor executor, const DatabaseConfig& config)
    : strand_(asio::make_strand(executor)),
      config_(config),
      pool_(strand_, make_conninfo(config.url, config.connect_timeout_s),
            static_cast<std::size_t>(config.pool_size), statements(), session_options()),
      lanes_(static_cast<std::size_t>(config.pool_size)),
      sweep_timer_(strand_) {
    for (auto& lane : lanes_) lane.retry = std::make_unique<asio::steady_timer>(strand_);
    std::random_device random;
    char prefix[24];
    std::snprintf(prefix, sizeof prefix, "%08x%08x-", random(), random());
    letter_prefix_ = prefix;
}

IncidentLog::~IncidentLog() = default;

void IncidentLog::fence(std::int64_t epoch, std::chrono::milliseconds lease_ttl,
                        std::function<bool()> may_confirm,
                        std::function<void(const std::string&)> fenced) {
    fence_epoch_ = epoch;
    // A leader paused half way through sending a batch holds the lease row's
    // share lock: its session must end within about a lease, not the 60 s
    // of session_options(), or the takeover waits that long.
    pool_.add_setup("SET idle_in_transaction_session_timeout = " +
                    std::to_string(std::max<long long>(lease_ttl.count(), 1000)));
    may_confirm_ = std::move(may_confirm);
    on_fenced_ = std::move(fenced);
}

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
        Item item{std::move(record), pending, false, false, false};
        item.keys[1] = terminal_key(std::get<AlarmRecord>(item.record).terminal);
        item.key_count = 2;
        enqueue(pin, std::move(item));
    });
}

void IncidentLog::record_cancel(CancelRecord record, RecordHandler handler) {
    auto pending = std::make_shared<Pending>();
    pending->handler = std::move(handler);
    asio::post(strand_, [this, record = std::move(record), pending]() mutable {
        const std::string pin = record.incident_hint.value_or(record.terminal);
        Item item{std::move(record), pending, false, false, false};
        item.keys[1] = terminal_key(std::get<CancelRecord>(item.record).terminal);
        item.key_count = 2;
        enqueue(pin, std::move(item));
    });
}

void IncidentLog::append(TimelineRecord record) {
    asio::post(strand_, [this, record = std::move(record)]() mutable {
        const std::string pin = record.incident;
        Item item{std::move(record), nullptr, false, false, false};
        if (const auto& unit = std::get<TimelineRecord>(item.record).unit) {
            item.keys[1] = unit_key(*unit);
            item.key_count = 2;
        }
        enqueue(pin, std::move(item));
    });
}

void IncidentLog::execute(const std::string& pin, StatementRecord record) {
    asio::post(strand_, [this, pin, record = std::move(record)]() mutable {
        enqueue(pin, Item{std::move(record), nullptr, false, false, true});
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
    // The boundaries refuse such text already; this is the last line, so
    // that nothing reaches libpq that it would cut short or PostgreSQL refuse.
    // (The timeline's details, parameter $6, are cast to jsonb.)
    const bool timeline = std::holds_alternative<TimelineRecord>(item.record);
    const auto* alarm = std::get_if<AlarmRecord>(&item.record);
    if (auto why =
            alarm ? unwritable_reason(*alarm)
                  : unwritable_reason(to_query(item).params,
                                      timeline ? std::optional<std::size_t>(5) : std::nullopt)) {
        refuse(item, "", *why);
        return;
    }
    const bool background = item.background;
    const bool always = std::holds_alternative<AlarmRecord>(item.record) ||
                        std::holds_alternative<CancelRecord>(item.record);
    const std::size_t critical_queued = stats_.queued - stats_.queued_background;
    if (background ? stats_.queued_background >= kMaxQueuedBackground
                   : !always && critical_queued >= kMaxQueuedCritical) {
        // Loud, and counted in /metrics; one line per thousand keeps the log usable.
        if (stats_.dropped++ % 1000 == 0) {
            log_error("incident-log", std::string(background ? "background" : "critical") +
                                          " write queue full: dropped " +
                                          std::to_string(stats_.dropped.load()) +
                                          " records so far, this one: " + describe(to_query(item)));
        }
        return;
    }
    const std::size_t pin_key = std::hash<std::string>{}(pin);
    const std::size_t lane = pin_key % lanes_.size();  // lane_of(pin)
    // keys[0] is the pin; a caller that knows a second key set keys[1] and key_count 2.
    item.keys[0] = pin_key;
    item.key_count = std::max<std::uint8_t>(item.key_count, 1);
    if (background) {
        item.seq = ++lanes_[lane].background_seq;
        lanes_[lane].background.push_back(std::move(item));
        ++stats_.queued;
        ++stats_.queued_background;
    } else {
        if (const auto* t = std::get_if<TimelineRecord>(&item.record); t && t->unit) {
            auto [it, first] = unit_lanes_.try_emplace(*t->unit, lane);
            if (!first && it->second != lane) {
                const Lane& previous = lanes_[it->second];
                if (committed_seq(previous) < previous.queued_seq) {
                    item.after = LaneMark{it->second, previous.queued_seq};
                    ++stats_.held_for_unit;
                }
                it->second = lane;
            }
        }
        push_critical(lane, std::move(item));
    }
    pump(lane);
}

std::size_t IncidentLog::lane_of(const std::string& pin, std::size_t lanes) {
    return std::hash<std::string>{}(pin) % lanes;
}

void IncidentLog::push_critical(std::size_t lane, Item item) {
    item.seq = ++lanes_[lane].queued_seq;
    lanes_[lane].critical.push_back(std::move(item));
    ++stats_.queued;
}

// What has not committed yet is in the queue (in seq order) or in a batch in
// flight (whose lowest seq it knows), so the lowest of those bounds the
// prefix: a batch that commits while an earlier one failed (pipeline mode)
// does not move it past the failed one's records.
std::uint64_t IncidentLog::committed_seq(const Lane& lane) const {
    std::uint64_t first_open = lane.queued_seq + 1;
    if (!lane.critical.empty()) first_open = std::min(first_open, lane.critical.front().seq);
    for (const Flight& f : lane.flights) {
        if (!f.background) first_open = std::min(first_open, f.first_seq);
    }
    return first_open - 1;
}

bool IncidentLog::may_send(const Item& item) const {
    return !item.after || committed_seq(lanes_[item.after->lane]) >= item.after->seq;
}

void IncidentLog::lane_progressed() {
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        if (!lanes_[i].held) continue;
        lanes_[i].held = false;
        pump(i);  // holds it again if it must still wait
    }
}

void IncidentLog::requeue(std::deque<Item>& queue, std::vector<Item>& items) {
    if (items.empty()) return;
    if (queue.empty() || items.back().seq < queue.front().seq) {
        for (auto it = items.rbegin(); it != items.rend(); ++it) queue.push_front(std::move(*it));
        return;
    }
    // Another batch of the lane came back first, or records were left
    // behind: merge, so the queue stays in seq order (the order records of
    // one key were made in).
    std::deque<Item> merged;
    std::merge(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()),
               std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.end()),
               std::back_inserter(merged),
               [](const Item& a, const Item& b) { return a.seq < b.seq; });
    queue = std::move(merged);
}

PgQuery IncidentLog::to_query(const Item& item) const {
    return std::visit(
        [](const auto& r) -> PgQuery {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, AlarmRecord>) {
                return alarms_query({&r});
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
    const auto max_in_flight = static_cast<std::size_t>(std::max(config_.batches_in_flight, 1));
    while (true) {
        const Lane& lane = lanes_[lane_index];
        if (lane.flights.size() >= max_in_flight || lane.backing_off || fenced_ ||
            !pool_.ready(lane_index)) {
            return;
        }
        if (!send_batch(lane_index)) return;
    }
}

bool IncidentLog::send_batch(std::size_t lane_index) {
    Lane& lane = lanes_[lane_index];
    // Critical records first; a batch holds one class only, so a background
    // record that keeps failing never holds up an alarm.
    const bool background = lane.critical.empty();
    std::deque<Item>& queue = background ? lane.background : lane.critical;
    const auto batch_max = static_cast<std::size_t>(config_.batch_max);
    // Behind a batch in flight, a batch smaller than the last one sent waits:
    // it would cost a commit (a WAL flush) for fewer records, and the records
    // that follow would join it no sooner. Measured (§15): sending whatever
    // had arrived split the batches (64 terminals: 14 -> 11 rows per flush)
    // and lost throughput on a flush-bound disk.
    const std::size_t worth =
        lane.flights.empty() ? 1 : std::min(batch_max, lane.flights.back().records);
    if (queue.size() < worth) return false;
    // The keys of this class's batches in flight (sorted, each key in at
    // most one of them).
    std::vector<const std::vector<std::size_t>*> busy;
    for (const Flight& f : lane.flights) {
        if (f.background == background) busy.push_back(&f.keys);
    }
    std::unordered_set<std::size_t> left_keys;  // of records left behind (rare)
    const auto waits = [&](const Item& item) {
        for (std::uint8_t k = 0; k < item.key_count; ++k) {
            const std::size_t key = item.keys[k];
            for (const auto* keys : busy) {
                if (std::binary_search(keys->begin(), keys->end(), key)) return true;
            }
            if (!left_keys.empty() && left_keys.count(key)) return true;
        }
        return false;
    };
    // Everything queued so far goes in one batch (up to batch_max): the
    // longer the last commit took, the more this one carries. A record one
    // of whose keys is in flight stays, and so does every later record
    // sharing a key with it; the batch ends before a solo record (retried
    // alone) and before a record that must wait for another lane (a unit's
    // order: it is not passed, whatever its keys). The records are chosen
    // first and moved after, so a batch too small to go (the rule above)
    // leaves the queue as it was, however many records it looked at.
    std::vector<bool> stays;  // per record looked at: left behind for a key
    std::size_t taken = 0;
    std::size_t left = 0;
    while (stays.size() < queue.size() && taken < batch_max && left < batch_max) {
        const Item& next = queue[stays.size()];
        if ((!busy.empty() || left > 0) && waits(next)) {
            for (std::uint8_t k = 0; k < next.key_count; ++k) left_keys.insert(next.keys[k]);
            stays.push_back(true);
            ++left;
            continue;
        }
        if (!may_send(next)) {
            lane.held = true;  // lane_progressed() pumps it again
            break;
        }
        if (next.solo && taken > 0) break;
        stays.push_back(false);
        ++taken;
        if (next.solo) break;
    }
    if (taken == 0) {
        stats_.held_for_key += left;
        return false;
    }
    if (taken < worth) return false;
    // Out go the chosen records; those left behind close up at the front, in
    // their order (the order records of one key were made in).
    std::vector<Item> items;
    items.reserve(taken);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < stays.size(); ++i) {
        if (!stays[i]) {
            items.push_back(std::move(queue[i]));
        } else {
            if (kept != i) queue[kept] = std::move(queue[i]);
            ++kept;
        }
    }
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(kept),
                queue.begin() + static_cast<std::ptrdiff_t>(stays.size()));
    stats_.held_for_key += left;

    // Each run of consecutive alarms becomes one set-based statement; the
    // other records keep their own, in their place, so the batch's order is
    // the queue's order (an incident's timeline follows it: seq).
    std::vector<PgQuery> queries;
    queries.reserve(items.size() + 1);
    if (fence_epoch_ != 0) queries.push_back({"fence", {std::to_string(fence_epoch_)}});
    std::vector<ResultSlot> slots;
    slots.reserve(items.size());
    std::vector<const AlarmRecord*> run;
    const auto close_run = [&] {
        if (run.empty()) return;
        queries.push_back(alarms_query(run));
        run.clear();
    };
    Flight flight;
    flight.id = ++lane.next_flight;
    flight.background = background;
    flight.first_seq = items.front().seq;
    flight.records = items.size();
    flight.keys.reserve(items.size() * 2);
    for (const auto& item : items) {
        for (std::uint8_t k = 0; k < item.key_count; ++k) flight.keys.push_back(item.keys[k]);
        if (const auto* alarm = std::get_if<AlarmRecord>(&item.record)) {
            slots.push_back({queries.size(), static_cast<int>(run.size())});
            run.push_back(alarm);
            continue;
        }
        close_run();
        slots.push_back({queries.size(), 0});
        queries.push_back(to_query(item));
    }
    close_run();
    std::sort(flight.keys.begin(), flight.keys.end());
    flight.keys.erase(std::unique(flight.keys.begin(), flight.keys.end()), flight.keys.end());
    if (!lane.flights.empty()) ++stats_.batches_pipelined;
    const std::uint64_t flight_id = flight.id;
    lane.flights.push_back(std::move(flight));
    auto shared_items = std::make_shared<std::vector<Item>>(std::move(items));
    pool_.submit(lane_index, std::move(queries),
                 [this, lane_index, flight_id, shared_items,
                  slots = std::move(slots)](PgBatchOutcome outcome) {
                     on_batch_done(lane_index, flight_id, std::move(*shared_items), slots,
                                   std::move(outcome));
                 });
    return true;
}

void IncidentLog::on_batch_done(std::size_t lane_index, std::uint64_t flight,
                                std::vector<Item> items, const std::vector<ResultSlot>& slots,
                                PgBatchOutcome outcome) {
    Lane& lane = lanes_[lane_index];
    const auto done = std::find_if(lane.flights.begin(), lane.flights.end(),
                                   [flight](const Flight& f) { return f.id == flight; });
    const bool background =
        done != lane.flights.end() ? done->background : !items.empty() && items.front().background;
    if (done != lane.flights.end()) lane.flights.erase(done);
    if (outcome.failure && outcome.failure->sqlstate == kFencedSqlstate) {
        // Another server has taken the lease over: nothing of this one may be
        // written any more (every later batch checks the epoch too, so none
        // in flight commits). The records stay queued (unanswered: their
        // deadlines answer them `unavailable`) until the process restarts.
        requeue(background ? lane.background : lane.critical, items);
        if (!fenced_) {
            fenced_ = true;
            log_error("incident-log", "fenced: " + outcome.failure->message);
            if (on_fenced_) on_fenced_(outcome.failure->message);
        }
        return;
    }
    // A leader whose lease ran out by its own clock confirms nothing.
    const bool confirm = !may_confirm_ || may_confirm_();
    if (!outcome.failure) {
        if (!lane.last_failure.empty()) {
            log_info("incident-log", "writes go through again after: " + lane.last_failure);
            lane.last_failure.clear();
        }
        lane.backoff = std::chrono::milliseconds(0);
        ++stats_.batches;
        stats_.records += items.size();
        stats_.queued -= items.size();
        if (background) stats_.queued_background -= items.size();
        if (!background) lane_progressed();
        for (std::size_t i = 0; i < items.size(); ++i) {
            Item& item = items[i];
            if (!item.pending) continue;
            if (!confirm) {
                answer(*item.pending, {RecordResult::Status::unavailable,
                                       {},
                                       {},
                                       "this server's lease ran out; try the next server"});
                continue;
            }
            const PGresult* r = outcome.results.at(slots.at(i).query).get();
            const int row = slots.at(i).row;
            RecordResult result{RecordResult::Status::committed, {}, {}, {}};
            if (row < PQntuples(r)) {
                result.incident = cell(r, row, 0);
                result.outcome = cell(r, row, 1);
            }
            answer(*item.pending, std::move(result));
        }
    } else {
        const PgFailure& f = *outcome.failure;
        const PgCondition condition = classify(f);
        if (is_refusal(condition) && items.size() == 1) {
            // This record itself is refused by the database: retrying as is cannot help.
            stats_.queued -= 1;
            if (background) stats_.queued_background -= 1;
            refuse(items[0], f.sqlstate, f.message);
            if (!background) lane_progressed();  // given up: done
        } else {
            // Put the batch back in its place: in front of every later
            // record of its keys (none of which left meanwhile: a later batch
            // in flight, which may have committed, shares no key with it).
            // After a refusal each record goes alone, so one bad record
            // cannot hold up the others; after a transient failure the lane
            // waits, then tries again.
            ++stats_.retries;
            for (auto& item : items) item.solo = item.solo || is_refusal(condition);
            requeue(background ? lane.background : lane.critical, items);
            if (is_refusal(condition)) {
                log_warn("incident-log", "batch of " + std::to_string(items.size()) + " refused [" +
                                             f.sqlstate +
                                             "], retrying each record alone: " + f.message);
            } else {
                back_off(lane_index, f);
            }
        }
    }
    pump(lane_index);
    check_drained();
}

void IncidentLog::back_off(std::size_t lane_index, const PgFailure& f) {
    Lane& lane = lanes_[lane_index];
    const std::string what =
        f.ec.message() + (f.sqlstate.empty() ? "" : " [" + f.sqlstate + "]") + ": " + f.message;
    if (lane.last_failure != what) {
        log_warn("incident-log", "writes failed (transient, kept and retried): " + what);
        lane.last_failure = what;
    }
    // Several batches in flight fail together when the connection is lost:
    // one wait for them all.
    if (lane.backing_off) return;
    lane.backoff = std::clamp(lane.backoff * 2, kFirstBackoff, kMaxBackoff);
    lane.backing_off = true;
    lane.retry->expires_after(lane.backoff);
    lane.retry->async_wait([this, lane_index](boost::system::error_code ec) {
        lanes_[lane_index].backing_off = false;
        if (ec) return;
        pump(lane_index);
    });
}

void IncidentLog::refuse(Item& item, const std::string& sqlstate, const std::string& message) {
    ++stats_.rejected;
    const PgQuery query = to_query(item);
    const std::string params = describe(query);
    log_error("incident-log", "record refused" +
                                  (sqlstate.empty() ? std::string() : " [" + sqlstate + "]") +
                                  ": " + message + "; " + query.statement + " " + params +
                                  (item.dead_letter ? " (not kept: the dead-letter insert itself)"
                                                    : " (kept in dead_letters)"));
    if (item.pending) {
        answer(*item.pending, {RecordResult::Status::rejected, {}, {}, message});
    }
    if (item.dead_letter) return;
    ++stats_.dead_lettered;
    // Its key stays with the item through retries: a batch sent again after
    // an unknown outcome does not keep the letter twice.
    std::string key = letter_prefix_ + std::to_string(++letters_);
    Item letter{StatementRecord{"dead_letter",
                                {query.statement, params, sqlstate, message, std::move(key)}},
                nullptr, false, true, false};
    if (unwritable_reason(to_query(letter).params)) return;  // logged above; nothing more to do
    // Critical: a refused record is rare, and losing its trace would be silent.
    letter.keys[0] = std::hash<std::string>{}("dead-letter");
    letter.key_count = 1;
    const std::size_t lane = lane_of("dead-letter", lanes_.size());
    push_critical(lane, std::move(letter));
    pump(lane);
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
        if (!force && (!lane.flights.empty() || !lane.critical.empty() || !lane.background.empty()))
            return;
    }
    if (force) {
        // Not silent: what could not be made durable is in the log, record by record.
        for (const auto& lane : lanes_) {
            for (const auto& item : lane.critical) {
                log_error("incident-log", "not committed at shutdown: " + to_query(item).statement +
                                              " " + describe(to_query(item)));
            }
        }
    }
    for (auto& lane : lanes_) lane.retry->cancel();
    sweep_timer_.cancel();
    if (drain_timer_) drain_timer_->cancel();
    pool_.stop();
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
}

}  // namespace huxiao::db
