#include "server/app/dispatcher.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "common/protocol/bounded_json.hpp"
#include "common/protocol/unit_protocol.hpp"
#include "server/app/clock.hpp"
#include "server/app/log.hpp"

namespace huxiao {

namespace asio = boost::asio;
using nlohmann::json;
using terminal::ErrorCode;
using terminal::ProtocolError;

namespace {

dispatch::CoreConfig core_config(const Config& config) {
    dispatch::CoreConfig c;
    c.offer_timeout_s = config.dispatch.offer_timeout_s;
    c.arrival_radius_m = config.dispatch.arrival_radius_m;
    c.road_factor = config.dispatch.road_factor;
    c.speed_kmh = config.dispatch.speed_kmh;
    c.unit_stale_s = config.dispatch.unit_stale_s;
    c.units_required.clear();
    for (const auto& [kind, n] : config.dispatch.units_required) c.units_required[kind] = n;
    return c;
}

constexpr auto kTickInterval = std::chrono::seconds(1);

std::string console_error(const std::string& code, const std::string& message, const json& ref) {
    return json{{"type", "error"}, {"code", code}, {"message", message}, {"ref", ref}}.dump();
}

}  // namespace

Dispatcher::Dispatcher(asio::any_io_executor executor, const Config& config, db::IncidentLog& log,
                       RegistryHolder& registry, Metrics& metrics)
    : strand_(asio::make_strand(executor)),
      config_(config),
      log_(log),
      registry_(registry),
      metrics_(metrics),
      triage_(config.dispatch.repeat_window_s),
      supervisor_(config.supervision.heartbeat_s, config.supervision.missed_heartbeats),
      core_(core_config(config), registry.get()->registry()),
      tick_timer_(strand_),
      event_key_prefix_("ev" + std::to_string(system_now()) + "-") {}

Dispatcher::~Dispatcher() = default;

std::string Dispatcher::next_event_key() {
    return event_key_prefix_ + std::to_string(++event_counter_);
}

void Dispatcher::restore(const std::vector<RecoveredIncident>& open,
                         UnixMicros newest_incident_at) {
    triage_.ids().observe(newest_incident_at);
    for (const auto& r : open) {
        triage_.restore(r.triage);
        auto incident = dispatch::replay_incident(r.header, r.timeline, core_.config());
        if (!incident) {
            triage_.close(r.header.id);
            continue;
        }
        auto timers = core_.restore(std::move(*incident));
        restored_timers_.insert(restored_timers_.end(), timers.begin(), timers.end());
    }
    open_incidents_ = triage_.open_incidents();
}

void Dispatcher::start() {
    asio::post(strand_, [this] {
        // Offers whose time ran out while the server was down expire at this
        // first tick; the others get their timers back.
        execute(restored_timers_, {});
        restored_timers_.clear();
        tick();
    });
}

void Dispatcher::replace_registry(const Registry& registry) {
    asio::post(strand_, [this, registry] { core_.replace_registry(registry); });
}

void Dispatcher::stop() {
    asio::post(strand_, [this] {
        stopped_ = true;
        tick_timer_.cancel();
        for (auto& [key, timer] : timers_) timer->cancel();
        timers_.clear();
    });
}

void Dispatcher::tick() {
    if (stopped_) return;
    handle(dispatch::Tick{});
    record_transitions(supervisor_.tick(system_now()));
    const auto now = std::chrono::steady_clock::now();
    if (now - last_seen_flush_ > std::chrono::seconds(30)) {
        last_seen_flush_ = now;
        flush_seen();
    }
    if (now - last_prune_ > std::chrono::hours(1)) {
        last_prune_ = now;
        const UnixMicros cutoff =
            system_now() - static_cast<UnixMicros>(config_.supervision.position_retention_days) *
                               86400 * kMicrosPerSecond;
        log_.execute("positions", {"prune_positions", {format_iso_micros(cutoff)}});
    }
    tick_timer_.expires_after(kTickInterval);
    tick_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
    });
}

// ---- terminals ---------------------------------------------------------------

void Dispatcher::terminal_online(std::shared_ptr<TerminalPort> port, const std::string& school) {
    asio::post(strand_, [this, port = std::move(port), school] {
        online_by_school_.emplace(school, port);
        ++terminal_sessions_[port->terminal_id()];
        record_transitions(supervisor_.session_opened(port->terminal_id(), system_now()));
    });
}

void Dispatcher::terminal_seen(const std::string& terminal, UnixMicros at) {
    asio::post(strand_, [this, terminal, at] {
        supervisor_.frame(terminal, at);
        seen_dirty_.insert(terminal);
    });
}

void Dispatcher::restore_terminals(const std::vector<std::pair<std::string, UnixMicros>>& online) {
    for (const auto& [terminal, since] : online) supervisor_.assume_online(terminal, since);
    terminals_online_ = supervisor_.online_count();
}

void Dispatcher::record_transitions(
    const std::vector<TerminalSupervisor::Transition>& transitions) {
    for (const auto& t : transitions) {
        const std::string at = format_iso_micros(t.at);
        log_.execute(t.terminal, {"terminal_status",
                                  {t.terminal, at, t.online ? "true" : "false",
                                   "ts:" + t.terminal + ":" + std::to_string(t.at) +
                                       (t.online ? ":on" : ":off")}});
        log_.execute(t.terminal, {"terminal_seen", {t.terminal, at}});
        const Terminal* known = registry_.get()->terminal(t.terminal);
        log_at(t.online ? LogLevel::info : LogLevel::warn, "supervision",
               "terminal " + t.terminal + (t.online ? " online" : " OFFLINE since " + at));
        // Consoles hear of it at once: an alarm button that is not connected
        // is a hole in a school's protection.
        publish({{"type", "terminal"},
                 {"terminal", t.terminal},
                 {"school", known ? known->school : ""},
                 {"online", t.online},
                 {"at", at}});
    }
    terminals_online_ = supervisor_.online_count();
}

void Dispatcher::flush_seen() {
    for (const auto& terminal : seen_dirty_) {
        log_.execute(terminal, {"terminal_seen",
                                {terminal, format_iso_micros(supervisor_.last_seen(terminal))}});
    }
    seen_dirty_.clear();
}

void Dispatcher::sample_position(const dispatch::UnitPosition& p) {
    const UnixMicros now = system_now();
    UnixMicros& last = last_position_sample_[p.unit];
    if (now - last <
        static_cast<UnixMicros>(config_.supervision.position_sample_s) * kMicrosPerSecond)
        return;
    last = now;
    char lat[32], lon[32];
    std::snprintf(lat, sizeof lat, "%.7f", p.lat);
    std::snprintf(lon, sizeof lon, "%.7f", p.lon);
    log_.execute("pos:" + p.unit, {"unit_position", {p.unit, format_iso_micros(now), lat, lon}});
}

void Dispatcher::terminal_offline(const std::shared_ptr<TerminalPort>& port,
                                  const std::string& school) {
    asio::post(strand_, [this, raw = port.get(), id = port->terminal_id(), school] {
        auto [first, last] = online_by_school_.equal_range(school);
        for (auto it = first; it != last;) {
            auto p = it->second.lock();
            it = (!p || p.get() == raw) ? online_by_school_.erase(it) : std::next(it);
        }
        if (--terminal_sessions_[id] <= 0) terminal_sessions_.erase(id);
        supervisor_.session_closed(id, system_now());
    });
}

void Dispatcher::alarm(std::shared_ptr<TerminalPort> port, const std::string& school,
                       terminal::Alarm alarm, UnixMicros received_at) {
    asio::post(strand_,
               [this, port = std::move(port), school, alarm = std::move(alarm),
                received_at]() mutable { on_alarm(port, school, std::move(alarm), received_at); });
}

void Dispatcher::on_alarm(const std::shared_ptr<TerminalPort>& port, const std::string& school,
                          terminal::Alarm alarm, UnixMicros received_at) {
    const std::string& terminal_id = port->terminal_id();
    ++metrics_.alarms_received;
    const TriageOutcome outcome =
        triage_.triage({terminal_id, alarm.id, school, alarm.drill, received_at});

    db::AlarmRecord record;
    record.terminal = terminal_id;
    record.event_id = alarm.id;
    record.kind = alarm.kind;
    record.terminal_at = alarm.at;
    record.drill = alarm.drill;
    record.note = alarm.note;
    record.received_at = received_at;
    std::string incident;
    bool fresh = false;
    if (const auto* n = std::get_if<NewIncident>(&outcome)) {
        incident = n->incident;
        fresh = true;
        open_incidents_ = triage_.open_incidents();
        ++metrics_.incidents_opened;
        log_info("dispatch", "alarm " + alarm.id + " from " + terminal_id + " (" + alarm.kind +
                                 (alarm.drill ? ", drill" : "") + ") opened incident " + incident);
    } else if (const auto* r = std::get_if<RepeatAlarm>(&outcome)) {
        incident = r->incident;
        record.join = r->incident;
        log_info("dispatch", "alarm " + alarm.id + " from " + terminal_id + " joins " + incident);
    } else {
        // A retransmission: record it again (idempotent) so the ack still
        // follows a commit, even if the first attempt never committed.
        incident = std::get<Retransmission>(outcome).incident;
    }
    record.incident = incident;
    const bool retransmission = std::holds_alternative<Retransmission>(outcome);

    // The record is queued before anything the core appends for this
    // incident, and the IncidentLog keeps one incident's writes in order.
    log_.record_alarm(std::move(record), [this, port, alarm_id = alarm.id, incident, received_at,
                                          school](db::RecordResult result) {
        metrics_.db_write_latency.observe(static_cast<double>(system_now() - received_at) / 1e6);
        using Status = db::RecordResult::Status;
        if (result.status != Status::committed) {
            ++metrics_.alarms_unavailable;
            port->send(terminal::encode_error(ProtocolError{
                ErrorCode::unavailable,
                "alarm not yet durable (" + result.message + "); retry with the same id",
                alarm_id}));
            return;
        }
        port->send(terminal::encode_ack(alarm_id, result.incident));
        ++metrics_.alarms_acked;
        metrics_.ack_latency.observe(static_cast<double>(system_now() - received_at) / 1e6);
        asio::post(strand_, [this, terminal = port->terminal_id(), alarm_id, incident,
                             recorded = result.incident] {
            if (recorded != incident) {
                // The database knew this alarm id from before (an incident this
                // process had forgotten): its answer stands, and the incident
                // opened by mistake is withdrawn.
                triage_.correct(terminal, alarm_id, recorded);
                if (core_.incident(incident)) {
                    handle(dispatch::ConsoleCancel{incident, "system", "duplicate of " + recorded});
                }
                triage_.close(incident);
                open_incidents_ = triage_.open_incidents();
            }
        });
    });

    if (!retransmission) {
        json details = {{"alarm", alarm.id}, {"kind", alarm.kind}, {"drill", alarm.drill}};
        if (!alarm.note.empty()) details["note"] = alarm.note;
        publish({{"type", "event"},
                 {"incident", incident},
                 {"event", fresh ? "alarm_received" : "repeat_alarm"},
                 {"at", format_iso_micros(received_at)},
                 {"actor", terminal_id},
                 {"unit", nullptr},
                 {"school", school},
                 {"details", details}});
        handle(dispatch::AlarmIntaken{incident, school, alarm.kind, alarm.drill,
                                      from_unix_micros(received_at), fresh});
    }
}

void Dispatcher::cancel(std::shared_ptr<TerminalPort> port, const std::string& school,
                        terminal::Cancel cancel, UnixMicros received_at) {
    asio::post(strand_, [this, port = std::move(port), school, cancel = std::move(cancel),
                         received_at]() mutable {
        auto incident = triage_.incident_of(port->terminal_id(), cancel.alarm);
        db::CancelRecord record{port->terminal_id(), cancel.id, cancel.alarm,
                                cancel.reason,       incident,  received_at};
        log_.record_cancel(std::move(record), [this, port, cancel_id = cancel.id,
                                               alarm_id = cancel.alarm, reason = cancel.reason,
                                               received_at, school](db::RecordResult result) {
            using Status = db::RecordResult::Status;
            if (result.status == Status::committed && result.outcome == "unknown_alarm") {
                port->send(terminal::encode_error(ProtocolError{
                    ErrorCode::bad_frame,
                    "no alarm \"" + alarm_id + "\" from this terminal to cancel", cancel_id}));
            } else if (result.status == Status::committed) {
                port->send(terminal::encode_ack(cancel_id, result.incident));
                if (result.outcome == "new") {
                    asio::post(strand_, [this, incident = result.incident,
                                         terminal = port->terminal_id(), cancel_id, alarm_id,
                                         reason, received_at, school] {
                        publish(
                            {{"type", "event"},
                             {"incident", incident},
                             {"event", "cancel_requested"},
                             {"at", format_iso_micros(received_at)},
                             {"actor", terminal},
                             {"unit", nullptr},
                             {"school", school},
                             {"details",
                              {{"request", cancel_id}, {"alarm", alarm_id}, {"reason", reason}}}});
                    });
                }
            } else {
                port->send(terminal::encode_error(ProtocolError{
                    ErrorCode::unavailable,
                    "cancel not yet durable (" + result.message + "); retry", cancel_id}));
            }
        });
    });
}

void Dispatcher::push_status(const std::string& school, const terminal::StatusPush& status) {
    const std::string frame = terminal::encode_status(status);
    auto [first, last] = online_by_school_.equal_range(school);
    for (auto it = first; it != last; ++it) {
        if (auto port = it->second.lock()) port->send(frame);
    }
}

// ---- units -------------------------------------------------------------------

void Dispatcher::unit_connected(const std::string& unit, std::shared_ptr<WsPeer> peer) {
    asio::post(strand_, [this, unit, peer = std::move(peer)] {
        if (auto old = units_[unit].lock(); old && old != peer) {
            old->send(unit_protocol::encode_error("replaced", "this unit connected again elsewhere",
                                                  std::nullopt));
            old->close();
        }
        units_[unit] = peer;
        units_connected_ = units_.size();
        log_info("dispatch", "unit " + unit + " connected");
        // An extension of contract §4: the unit learns that it is signed in
        // (and the server's clock) before anything else it is sent.
        peer->send(json{
            {"type", "welcome"}, {"unit", unit}, {"server_time", format_iso_millis(system_now())}}
                       .dump());
        handle(dispatch::UnitConnected{unit});
    });
}

void Dispatcher::unit_message(const std::string& unit, const std::string& text,
                              std::shared_ptr<WsPeer> peer) {
    auto decoded = unit_protocol::decode(text, unit);
    if (auto* error = std::get_if<unit_protocol::Error>(&decoded)) {
        peer->send(unit_protocol::encode_error(error->code, error->message, error->ref));
        return;
    }
    asio::post(strand_, [this, unit, event = std::get<dispatch::Event>(std::move(decoded)),
                         peer = std::move(peer)] {
        if (units_[unit].lock() != peer) return;  // a replaced session
        if (const auto* position = std::get_if<dispatch::UnitPosition>(&event))
            sample_position(*position);
        handle(event, [&peer](const dispatch::ReplyError& e) {
            peer->send(unit_protocol::encode_error(
                e.code, e.message,
                e.ref.empty() ? std::nullopt : std::optional<std::string>(e.ref)));
        });
    });
}

void Dispatcher::unit_disconnected(const std::string& unit, const std::shared_ptr<WsPeer>& peer) {
    asio::post(strand_, [this, unit, raw = peer.get()] {
        auto it = units_.find(unit);
        if (it == units_.end()) return;
        auto current = it->second.lock();
        if (current && current.get() != raw) return;  // the replacement stays
        units_.erase(it);
        units_connected_ = units_.size();
        log_info("dispatch", "unit " + unit + " disconnected");
        handle(dispatch::UnitDisconnected{unit});
    });
}

// ---- consoles ----------------------------------------------------------------

void Dispatcher::console_opened(const Principal& who, std::shared_ptr<WsPeer> peer) {
    asio::post(strand_, [this, who, peer = std::move(peer)] {
        consoles_.push_back({who, peer});
        peer->send(snapshot(who).dump());
    });
}

void Dispatcher::console_closed(const std::shared_ptr<WsPeer>& peer) {
    asio::post(strand_, [this, raw = peer.get()] {
        std::erase_if(consoles_, [raw](const Console& c) {
            auto p = c.peer.lock();
            return !p || p.get() == raw;
        });
    });
}

void Dispatcher::console_message(const Principal& who, const std::string& text,
                                 std::shared_ptr<WsPeer> peer) {
    BoundedJson parsed = parse_bounded_json(text);
    if (auto* e = std::get_if<JsonError>(&parsed)) {
        peer->send(console_error("bad_frame", "command: " + e->message, nullptr));
        return;
    }
    json m = std::move(std::get<json>(parsed));
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) {
        peer->send(
            console_error("bad_frame", "commands are JSON objects with a \"type\"", nullptr));
        return;
    }
    const std::string type = m["type"];
    // ref echoes the command's id (contract 1.1) only when it is a plain string
    // or number: a client's nested JSON is never copied back.
    const auto plain = [&m](const char* key) {
        auto it = m.find(key);
        return it != m.end() && (it->is_string() || it->is_number());
    };
    const json ref = plain("id") ? m["id"] : (plain("incident") ? m["incident"] : json(nullptr));
    if (type == "snapshot") {  // a console may ask for a fresh picture at any time
        const bool with_schools = !(m.contains("schools") && m["schools"] == false);
        asio::post(strand_, [this, who, peer, with_schools] {
            peer->send(snapshot(who, with_schools).dump());
        });
        return;
    }
    static const std::set<std::string> kCommands = {"acknowledge", "assign", "cancel", "resolve",
                                                    "note"};
    if (!kCommands.count(type)) {
        peer->send(console_error("unknown_type", "unknown command \"" + type + "\"", ref));
        return;
    }
    if (!who.is({"dispatcher", "admin"})) {
        peer->send(console_error("forbidden", "role " + who.role + " is read-only", ref));
        return;
    }
    const auto field = [&](const char* name, bool required) -> std::optional<std::string> {
        if (!m.contains(name) || !m[name].is_string() || m[name].get<std::string>().empty()) {
            if (required) return std::nullopt;
            return std::string();
        }
        return m[name].get<std::string>();
    };
    auto incident = field("incident", true);
    if (!incident) {
        peer->send(console_error("bad_frame", "field \"incident\" is required", ref));
        return;
    }
    dispatch::Event event;
    if (type == "acknowledge") {
        event = dispatch::ConsoleAcknowledge{*incident, who.name};
    } else if (type == "assign") {
        auto unit = field("unit", true);
        if (!unit) {
            peer->send(console_error("bad_frame", "field \"unit\" is required", ref));
            return;
        }
        event = dispatch::ConsoleAssign{*incident, *unit, who.name};
    } else if (type == "cancel") {
        event = dispatch::ConsoleCancel{*incident, who.name, *field("reason", false)};
    } else if (type == "resolve") {
        event = dispatch::ConsoleResolve{*incident, who.name, *field("note", false)};
    } else {
        auto text_field = field("text", true);
        if (!text_field) {
            peer->send(console_error("bad_frame", "field \"text\" is required", ref));
            return;
        }
        event = dispatch::ConsoleNote{*incident, who.name, *text_field};
    }
    asio::post(strand_, [this, event = std::move(event), peer, ref] {
        bool failed = false;
        handle(event, [&](const dispatch::ReplyError& e) {
            failed = true;
            peer->send(console_error(e.code, e.message, ref));
        });
        if (!failed) peer->send(json{{"type", "ok"}, {"ref", ref}}.dump());
    });
}

bool Dispatcher::sees_district(const Principal& who, const std::string& district) {
    if (who.role != "education" || who.districts.empty()) return true;
    return std::find(who.districts.begin(), who.districts.end(), district) != who.districts.end();
}

json Dispatcher::snapshot(const Principal& who, bool with_schools) const {
    json incidents = json::array();
    const auto registry = registry_.get();
    const auto now = clock_now();
    for (const dispatch::Incident* i : core_.open_incidents()) {
        if (const School* s = registry->school(i->school); s && !sees_district(who, s->district))
            continue;
        json units = json::array();
        for (const auto& a : i->assignments) units.push_back(a.unit);
        json offers = json::array();
        for (const auto& o : i->offers) {
            offers.push_back(
                {{"unit", o.unit},
                 {"eta_s", static_cast<int>(o.eta_s)},
                 {"expires_in_s",
                  std::max<long long>(
                      0, std::chrono::duration_cast<std::chrono::seconds>(o.deadline - now)
                             .count())}});
        }
        const School* school = registry->school(i->school);
        incidents.push_back({{"id", i->id},
                             {"school", i->school},
                             {"school_name", school ? school->name : ""},
                             {"district", school ? school->district : ""},
                             {"lat", school ? school->location.lat : 0},
                             {"lon", school ? school->location.lon : 0},
                             {"kind", i->kind},
                             {"drill", i->drill},
                             {"state", std::string(dispatch::to_string(core_.status_of(*i)))},
                             {"received_at", format_iso_millis(to_unix_micros(i->received_at))},
                             {"acknowledged", i->acknowledged},
                             {"units", units},
                             {"offers", offers}});
    }
    json units = json::array();
    for (const dispatch::UnitState* u : core_.units()) {
        const Unit* reg = registry->unit(u->id);
        std::string status = !u->connected          ? "offline"
                             : !u->available        ? "out_of_service"
                             : !u->incident.empty() ? "busy"
                                                    : "available";
        units.push_back({{"id", u->id},
                         {"callsign", reg ? reg->callsign : u->id},
                         {"district", reg ? reg->district : ""},
                         {"lat", u->position.lat},
                         {"lon", u->position.lon},
                         {"status", status},
                         {"incident", u->incident.empty() ? json(nullptr) : json(u->incident)}});
    }
    json offline = json::array();
    std::size_t online = 0;
    for (const auto& t : registry->registry().terminals) {
        if (!t.enabled) continue;
        const School* school = registry->school(t.school);
        if (school && !sees_district(who, school->district)) continue;
        if (supervisor_.online(t.id)) {
            ++online;
        } else {
            const UnixMicros seen = supervisor_.last_seen(t.id);
            offline.push_back(
                {{"id", t.id},
                 {"school", t.school},
                 {"last_seen", seen ? json(format_iso_millis(seen)) : json(nullptr)}});
        }
    }
    json schools = json::array();
    json districts = json::array();
    if (with_schools) {
        for (const auto& s : registry->registry().schools) {
            if (!sees_district(who, s.district)) continue;
            schools.push_back({{"id", s.id},
                               {"name", s.name},
                               {"district", s.district},
                               {"lat", s.location.lat},
                               {"lon", s.location.lon}});
        }
        for (const auto& d : registry->registry().districts) {
            if (sees_district(who, d.id)) districts.push_back({{"id", d.id}, {"name", d.name}});
        }
    }
    json snap = {{"type", "snapshot"},
                 {"server_time", format_iso_millis(system_now())},
                 {"you", {{"name", who.name}, {"role", who.role}, {"districts", who.districts}}},
                 {"incidents", incidents},
                 {"units", units},
                 {"schools", schools},
                 {"terminals", {{"online", online}, {"offline", offline}}}};
    if (with_schools)
        snap["districts"] = districts;
    else
        snap.erase("schools");
    return snap;
}

void Dispatcher::publish(const json& message) {
    if (consoles_.empty()) return;
    const std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string district;
    if (const auto it = message.find("school"); it != message.end() && it->is_string()) {
        if (const School* s = registry_.get()->school(it->get<std::string>()))
            district = s->district;
    }
    for (const auto& c : consoles_) {
        if (!district.empty() && !sees_district(c.who, district)) continue;
        if (auto p = c.peer.lock()) p->send(text);
    }
}

// ---- the core and its actions ------------------------------------------------

void Dispatcher::handle(const dispatch::Event& event, const Replier& reply) {
    auto actions = core_.handle(event, clock_now());
    if (log_enabled(LogLevel::debug) && !actions.empty()) {
        std::string kinds;
        for (const auto& a : actions) {
            static constexpr const char* kNames[] = {"send",    "status", "append", "timer",
                                                     "untimer", "reply",  "closed"};
            kinds += std::string(kinds.empty() ? "" : ",") + kNames[a.index()];
        }
        log_debug("dispatch", "event #" + std::to_string(event.index()) + " -> " + kinds);
    }
    execute(actions, reply);
}

void Dispatcher::execute(std::vector<dispatch::Action>& actions, const Replier& reply) {
    for (auto& action : actions) {
        std::visit(
            [&](auto& a) {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, dispatch::SendToUnit>) {
                    auto it = units_.find(a.unit);
                    if (it == units_.end()) return;
                    if (auto peer = it->second.lock()) {
                        const bool offer = a.message.value("type", "") == "offer";
                        peer->send(a.message.dump());
                        if (offer) {
                            ++metrics_.offers_sent;
                            const std::string id = a.message.value("incident", "");
                            const auto* incident = core_.incident(id);
                            if (incident && offered_.insert(id).second) {
                                metrics_.alarm_to_offer.observe(
                                    static_cast<double>(system_now() -
                                                        to_unix_micros(incident->received_at)) /
                                    1e6);
                            }
                        }
                    }
                } else if constexpr (std::is_same_v<T, dispatch::PushStatus>) {
                    const auto* incident = core_.incident(a.incident);
                    push_status(a.school,
                                {a.incident, std::string(dispatch::to_string(a.state)),
                                 a.unit.empty() ? std::nullopt : std::optional<std::string>(a.unit),
                                 a.eta_s, incident && incident->drill, to_unix_micros(a.at)});
                } else if constexpr (std::is_same_v<T, dispatch::AppendTimeline>) {
                    const std::string type(dispatch::to_string(a.type));
                    db::TimelineRecord record{
                        a.incident,
                        to_unix_micros(a.at),
                        type,
                        a.actor,
                        a.unit.empty() ? std::nullopt : std::optional<std::string>(a.unit),
                        a.details.dump(),
                        next_event_key()};
                    log_.append(std::move(record));
                    const auto* incident = core_.incident(a.incident);
                    publish({{"type", "event"},
                             {"incident", a.incident},
                             {"event", type},
                             {"at", format_iso_micros(to_unix_micros(a.at))},
                             {"actor", a.actor},
                             {"unit", a.unit.empty() ? json(nullptr) : json(a.unit)},
                             {"school", incident ? incident->school : ""},
                             {"drill", incident && incident->drill},
                             {"state", incident ? std::string(dispatch::to_string(
                                                      core_.status_of(*incident)))
                                                : std::string()},
                             {"details", a.details}});
                } else if constexpr (std::is_same_v<T, dispatch::StartTimer>) {
                    start_timer(a);
                } else if constexpr (std::is_same_v<T, dispatch::CancelTimer>) {
                    if (auto it = timers_.find(a.key); it != timers_.end()) {
                        it->second->cancel();
                        timers_.erase(it);
                    }
                } else if constexpr (std::is_same_v<T, dispatch::ReplyError>) {
                    if (reply) reply(a);
                } else if constexpr (std::is_same_v<T, dispatch::IncidentClosed>) {
                    triage_.close(a.incident);
                    offered_.erase(a.incident);
                    open_incidents_ = triage_.open_incidents();
                    log_info("dispatch", "incident " + a.incident + " " +
                                             std::string(dispatch::to_string(a.final_state)));
                }
            },
            action);
    }
}

void Dispatcher::start_timer(const dispatch::StartTimer& timer) {
    if (stopped_) return;
    auto t = std::make_unique<asio::steady_timer>(strand_);
    const auto delay = timer.deadline - clock_now();
    t->expires_after(std::max<std::chrono::steady_clock::duration>(delay, std::chrono::seconds(0)));
    t->async_wait([this, key = timer.key](boost::system::error_code ec) {
        if (ec) return;
        timers_.erase(key);
        handle(dispatch::OfferTimerFired{key.incident, key.unit, key.seq});
    });
    timers_[timer.key] = std::move(t);
}

}  // namespace huxiao
