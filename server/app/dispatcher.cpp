#include "server/app/dispatcher.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "common/protocol/bounded_json.hpp"
#include "common/protocol/console_protocol.hpp"
#include "common/protocol/unit_protocol.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"

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

// A terminal's answer to its alarm: `ack` after the commit, else `unavailable`.
IntakeReplier alarm_replier(std::shared_ptr<TerminalPort> port, std::string alarm_id) {
    return [port = std::move(port), alarm_id = std::move(alarm_id)](const IntakeReply& r) {
        if (r.status == IntakeReply::Status::durable) {
            port->send(terminal::encode_ack(alarm_id, r.incident));
            return;
        }
        port->send(terminal::encode_error(ProtocolError{
            ErrorCode::unavailable,
            "alarm not yet durable (" + r.message + "); retry with the same id", alarm_id}));
    };
}

IntakeReplier cancel_replier(std::shared_ptr<TerminalPort> port, std::string cancel_id,
                             std::string alarm_id) {
    return [port = std::move(port), cancel_id = std::move(cancel_id),
            alarm_id = std::move(alarm_id)](const IntakeReply& r) {
        switch (r.status) {
            case IntakeReply::Status::durable:
                port->send(terminal::encode_ack(cancel_id, r.incident));
                break;
            case IntakeReply::Status::unknown_alarm:
                port->send(terminal::encode_error(ProtocolError{
                    ErrorCode::bad_frame,
                    "no alarm \"" + alarm_id + "\" from this terminal to cancel", cancel_id}));
                break;
            case IntakeReply::Status::unavailable:
                port->send(terminal::encode_error(
                    ProtocolError{ErrorCode::unavailable,
                                  "cancel not yet durable (" + r.message + "); retry", cancel_id}));
                break;
        }
    };
}

std::string unit_status(const dispatch::UnitState& u) {
    if (!u.connected) return "offline";
    if (!u.available) return "out_of_service";
    return u.incident.empty() ? "available" : "busy";
}

}  // namespace

Dispatcher::Dispatcher(asio::any_io_executor executor, const Config& config, db::IncidentLog& log,
                       RegistryHolder& registry, Metrics& metrics, const Clock& clock)
    : io_(executor),
      strand_(asio::make_strand(executor)),
      config_(config),
      log_(log),
      registry_(registry),
      metrics_(metrics),
      clock_(clock),
      intake_(strand_, config.dispatch.repeat_window_s, log, metrics, clock, consoles_, registry,
              [this](const dispatch::Event& event) { handle(event); }),
      supervisor_(config.supervision.heartbeat_s, config.supervision.missed_heartbeats),
      core_(core_config(config), registry.get()->registry()),
      tick_timer_(strand_),
      event_key_prefix_("ev" + std::to_string(clock_.now()) + "-") {}

Dispatcher::~Dispatcher() = default;

std::string Dispatcher::next_event_key() {
    return event_key_prefix_ + std::to_string(++event_counter_);
}

void Dispatcher::restore(const std::vector<RecoveredIncident>& open,
                         UnixMicros newest_incident_at) {
    AlarmTriage& triage = intake_.triage();
    triage.ids().observe(newest_incident_at);
    for (const auto& r : open) {
        triage.restore(r.triage, r.terminals_with_older_alarms);
        auto incident = dispatch::replay_incident(r.header, r.timeline, core_.config());
        if (!incident) {
            intake_.incident_closed(r.header.id);
            continue;
        }
        auto timers = core_.restore(std::move(*incident));
        restored_timers_.insert(restored_timers_.end(), timers.begin(), timers.end());
    }
    intake_.restored();
}

void Dispatcher::start() {
    asio::post(strand_, [this] {
        // Offers whose time ran out while the server was down expire at this
        // first tick; the others get their timers back.
        for (const auto& action : restored_timers_) {
            if (const auto* timer = std::get_if<dispatch::StartTimer>(&action)) perform(*timer);
        }
        restored_timers_.clear();
        tick();
    });
}

void Dispatcher::replace_registry(const Registry& registry) {
    asio::post(strand_, [this, registry] {
        core_.replace_registry(registry);
        revoke_sessions_outside(registry);
    });
}

void Dispatcher::revoke_sessions_outside(const Registry& registry) {
    const RegistryIndex index(registry);
    for (const auto& [school, weak] : online_by_school_) {
        auto port = weak.lock();
        if (!port) continue;
        const Terminal* t = index.terminal(port->terminal_id());
        if (t != nullptr && t->enabled && t->school == school) continue;
        log_warn("dispatch", "terminal " + port->terminal_id() +
                                 " disabled, removed or moved: its session is ended");
        port->revoke();
    }
    for (auto it = units_.begin(); it != units_.end();) {
        if (index.unit(it->first) != nullptr) {
            ++it;
            continue;
        }
        log_warn("dispatch", "unit " + it->first + " removed: its session is ended");
        if (auto peer = it->second.peer.lock()) peer->revoke();
        const std::string unit = it->first;
        it = units_.erase(it);
        units_connected_ = units_.size();
        handle(dispatch::UnitDisconnected{unit});
    }
}

void Dispatcher::revoke_token(const std::string& name) {
    asio::post(strand_, [this, name] {
        std::size_t n = consoles_.revoke(name);
        for (auto it = units_.begin(); it != units_.end();) {
            if (it->second.token != name) {
                ++it;
                continue;
            }
            if (auto peer = it->second.peer.lock()) peer->revoke();
            const std::string unit = it->first;
            it = units_.erase(it);
            units_connected_ = units_.size();
            ++n;
            handle(dispatch::UnitDisconnected{unit});
        }
        if (n > 0)
            log_info("auth",
                     "token " + name + " revoked: " + std::to_string(n) + " session(s) ended");
    });
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
    record_transitions(supervisor_.tick(clock_.now()));
    const auto now = std::chrono::steady_clock::now();
    if (now - last_seen_flush_ > std::chrono::seconds(30)) {
        last_seen_flush_ = now;
        flush_seen();
    }
    if (now - last_prune_ > std::chrono::hours(1)) {
        last_prune_ = now;
        const UnixMicros cutoff =
            clock_.now() - static_cast<UnixMicros>(config_.supervision.position_retention_days) *
                               86400 * kMicrosPerSecond;
        log_.execute("positions", {"prune_positions", {format_iso_micros(cutoff)}});
    }
    tick_timer_.expires_after(kTickInterval);
    tick_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
    });
}

void Dispatcher::publish_about_school(const std::string& school, std::string text) {
    const School* s = registry_.get()->school(school);
    consoles_.publish(s == nullptr ? std::string() : s->district, std::move(text));
}

// ---- terminals ---------------------------------------------------------------

void Dispatcher::terminal_online(std::shared_ptr<TerminalPort> port, const std::string& school) {
    asio::post(strand_, [this, port = std::move(port), school] {
        online_by_school_.emplace(school, port);
        ++terminal_sessions_[port->terminal_id()];
        record_transitions(supervisor_.session_opened(port->terminal_id(), clock_.now()));
    });
}

void Dispatcher::terminal_seen(const std::string& terminal, UnixMicros at) {
    asio::post(strand_, [this, terminal, at] {
        supervisor_.frame(terminal, at);
        seen_dirty_.insert(terminal);
    });
}

void Dispatcher::terminal_heard_from(const std::string& terminal, UnixMicros at,
                                     UnixMicros window_us) {
    asio::post(strand_, [this, terminal, at, window_us] {
        record_transitions(supervisor_.heard_from(terminal, at, window_us));
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
        // is a hole in a school's protection. A terminal missing from the
        // registry has no district: only unrestricted consoles hear of it.
        const std::string school = known ? known->school : "";
        publish_about_school(school,
                             console_protocol::encode_terminal(t.terminal, school, t.online, t.at));
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
    const UnixMicros now = clock_.now();
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
        supervisor_.session_closed(id, clock_.now());
    });
}

void Dispatcher::alarm(std::shared_ptr<TerminalPort> port, const std::string& school,
                       terminal::Alarm alarm, UnixMicros received_at) {
    std::string terminal = port->terminal_id();
    IntakeReplier reply = alarm_replier(std::move(port), alarm.id);
    asio::post(strand_, [this, school, terminal = std::move(terminal), alarm = std::move(alarm),
                         received_at, reply = std::move(reply)]() mutable {
        supervisor_.frame(terminal, received_at);  // terminal_seen, without a hop of its own
        seen_dirty_.insert(terminal);
        intake_.alarm(school, terminal, std::move(alarm), received_at, std::move(reply));
    });
}

void Dispatcher::alarm(const std::string& school, const std::string& terminal,
                       terminal::Alarm alarm, UnixMicros received_at, IntakeReplier reply) {
    asio::post(strand_, [this, school, terminal, alarm = std::move(alarm), received_at,
                         reply = std::move(reply)]() mutable {
        intake_.alarm(school, terminal, std::move(alarm), received_at, std::move(reply));
    });
}

void Dispatcher::cancel(std::shared_ptr<TerminalPort> port, const std::string& school,
                        terminal::Cancel cancel, UnixMicros received_at) {
    std::string terminal = port->terminal_id();
    IntakeReplier reply = cancel_replier(std::move(port), cancel.id, cancel.alarm);
    this->cancel(school, terminal, std::move(cancel), received_at, std::move(reply));
}

void Dispatcher::cancel(const std::string& school, const std::string& terminal,
                        terminal::Cancel cancel, UnixMicros received_at, IntakeReplier reply) {
    asio::post(strand_, [this, school, terminal, cancel = std::move(cancel), received_at,
                         reply = std::move(reply)]() mutable {
        intake_.cancel(school, terminal, std::move(cancel), received_at, std::move(reply));
    });
}

// ---- units -------------------------------------------------------------------

void Dispatcher::unit_connected(const std::string& unit, const std::string& token,
                                std::shared_ptr<WsPeer> peer) {
    asio::post(strand_, [this, unit, token, peer = std::move(peer)] {
        UnitSession& session = units_[unit];
        if (auto old = session.peer.lock(); old && old != peer) {
            old->send(unit_protocol::encode_error("replaced", "this unit connected again elsewhere",
                                                  std::nullopt));
            old->close();
        }
        session = {peer, token};
        units_connected_ = units_.size();
        log_info("dispatch", "unit " + unit + " connected");
        // An extension of contract §4: the unit learns that it is signed in
        // (and the server's clock) before anything else it is sent.
        peer->send(json{
            {"type", "welcome"}, {"unit", unit}, {"server_time", format_iso_millis(clock_.now())}}
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
        // A replaced or revoked session is not heard any more.
        auto it = units_.find(unit);
        if (it == units_.end() || it->second.peer.lock() != peer) return;
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
        auto current = it->second.peer.lock();
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
        consoles_.add(who, peer);
        request_snapshot(who, peer, true);
    });
}

void Dispatcher::console_closed(const std::shared_ptr<WsPeer>& peer) {
    asio::post(strand_, [this, raw = peer.get()] { consoles_.remove(raw); });
}

void Dispatcher::console_message(const Principal& who, const std::string& text,
                                 std::shared_ptr<WsPeer> peer) {
    // Decoded on the session's strand: only valid commands reach the dispatcher's.
    // Commands are the dispatcher's alone (contract §4): an admin manages the
    // registry and tokens and watches the console, but does not steer.
    auto decoded = console_protocol::decode(text, {who.name, who.role, who.is({"dispatcher"})});
    if (auto* error = std::get_if<console_protocol::Error>(&decoded)) {
        peer->send(console_protocol::encode_error(*error));
        return;
    }
    if (auto* request = std::get_if<console_protocol::SnapshotRequest>(&decoded)) {
        asio::post(strand_, [this, who, peer, with_schools = request->with_schools] {
            request_snapshot(who, peer, with_schools);
        });
        return;
    }
    asio::post(strand_,
               [this, command = std::get<console_protocol::Command>(std::move(decoded)), peer] {
                   // A console closed or revoked meanwhile commands nothing.
                   if (!consoles_.contains(peer.get())) return;
                   bool failed = false;
                   handle(command.event, [&](const dispatch::ReplyError& e) {
                       failed = true;
                       peer->send(console_protocol::encode_error({e.code, e.message, command.ref}));
                   });
                   if (!failed) peer->send(console_protocol::encode_ok(command.ref));
               });
}

void Dispatcher::request_snapshot(const Principal& who, const std::shared_ptr<WsPeer>& peer,
                                  bool with_schools) {
    if (consoles_.begin_snapshot(peer.get(), with_schools)) build_snapshot(who, peer, with_schools);
}

// On the strand only what changes under it is copied (incidents, units,
// terminals online); the registry part and the encoding run off the strand.
void Dispatcher::build_snapshot(const Principal& who, const std::shared_ptr<WsPeer>& peer,
                                bool with_schools) {
    auto view = std::make_shared<console_protocol::SnapshotView>();
    view->server_time = clock_.now();
    view->you = {who.name, who.role, who.districts};
    view->with_schools = with_schools;
    copy_live_state(who, *view);
    asio::post(io_, [this, who, peer, view, registry = registry_.get()] {
        if (view->with_schools) {
            for (const auto& s : registry->registry().schools) {
                if (!ConsoleHub::sees(who, s.district)) continue;
                view->schools.push_back({s.id, s.name, s.district, s.location.lat, s.location.lon});
            }
            for (const auto& d : registry->registry().districts) {
                if (ConsoleHub::sees(who, d.id)) view->districts.push_back({d.id, d.name});
            }
        }
        peer->send(console_protocol::encode_snapshot(*view));
        asio::post(strand_, [this, who, peer] {
            if (auto again = consoles_.end_snapshot(peer.get())) build_snapshot(who, peer, *again);
        });
    });
}

void Dispatcher::copy_live_state(const Principal& who, console_protocol::SnapshotView& view) const {
    const auto registry = registry_.get();
    const auto now = clock_.time_point();
    for (const dispatch::Incident* i : core_.open_incidents()) {
        const School* school = registry->school(i->school);
        if (!ConsoleHub::sees(who, school ? school->district : "")) continue;
        console_protocol::SnapshotView::Incident row;
        row.id = i->id;
        row.school = i->school;
        if (school) {
            row.school_name = school->name;
            row.district = school->district;
            row.lat = school->location.lat;
            row.lon = school->location.lon;
        }
        row.kind = i->kind;
        row.drill = i->drill;
        row.state = std::string(dispatch::to_string(core_.status_of(*i)));
        row.received_at = to_unix_micros(i->received_at);
        row.acknowledged = i->acknowledged;
        for (const auto& a : i->assignments) row.units.push_back(a.unit);
        for (const auto& o : i->offers) {
            const auto left = std::chrono::duration_cast<std::chrono::seconds>(o.deadline - now);
            row.offers.push_back(
                {o.unit, static_cast<int>(o.eta_s), std::max<long long>(0, left.count())});
        }
        view.incidents.push_back(std::move(row));
    }
    for (const dispatch::UnitState* u : core_.units()) {
        const Unit* reg = registry->unit(u->id);
        if (!ConsoleHub::sees(who, reg ? reg->district : "")) continue;
        view.units.push_back({u->id, reg ? reg->callsign : u->id, reg ? reg->district : "",
                              u->position.lat, u->position.lon, unit_status(*u), u->incident});
    }
    for (const auto& t : registry->registry().terminals) {
        if (!t.enabled) continue;
        const School* school = registry->school(t.school);
        if (!ConsoleHub::sees(who, school ? school->district : "")) continue;
        if (supervisor_.online(t.id)) {
            ++view.terminals_online;
        } else {
            view.terminals_offline.push_back({t.id, t.school, supervisor_.last_seen(t.id)});
        }
    }
}

// ---- the core and its actions ------------------------------------------------

void Dispatcher::handle(const dispatch::Event& event, const Replier& reply) {
    auto actions = core_.handle(event, clock_.time_point());
    if (log_enabled(LogLevel::debug) && !actions.empty()) {
        std::string kinds;
        for (const auto& a : actions) {
            static constexpr const char* kNames[] = {"send",    "status", "append", "timer",
                                                     "untimer", "reply",  "closed"};
            kinds += std::string(kinds.empty() ? "" : ",") + kNames[a.index()];
        }
        log_debug("dispatch", "event #" + std::to_string(event.index()) + " -> " + kinds);
    }
    for (const auto& action : actions) {
        if (const auto* error = std::get_if<dispatch::ReplyError>(&action)) {
            if (reply) reply(*error);
        } else {
            std::visit(
                [this](const auto& a) {
                    if constexpr (!std::is_same_v<std::decay_t<decltype(a)>, dispatch::ReplyError>)
                        perform(a);
                },
                action);
        }
    }
}

void Dispatcher::perform(const dispatch::SendToUnit& a) {
    auto it = units_.find(a.unit);
    if (it == units_.end()) return;
    auto peer = it->second.peer.lock();
    if (!peer) return;
    peer->send(unit_protocol::encode(a.message));
    const auto* offer = std::get_if<dispatch::OfferMessage>(&a.message);
    if (offer == nullptr) return;
    metrics_.offers_sent.increment();
    const auto* incident = core_.incident(offer->incident);
    if (incident && offered_.insert(offer->incident).second) {
        metrics_.alarm_to_offer.observe(
            static_cast<double>(clock_.now() - to_unix_micros(incident->received_at)) / 1e6);
    }
}

void Dispatcher::perform(const dispatch::PushStatus& a) {
    const auto* incident = core_.incident(a.incident);
    const std::string frame =
        terminal::encode_status({a.incident, std::string(dispatch::to_string(a.state)),
                                 a.unit.empty() ? std::nullopt : std::optional<std::string>(a.unit),
                                 a.eta_s, incident && incident->drill, to_unix_micros(a.at)});
    auto [first, last] = online_by_school_.equal_range(a.school);
    for (auto it = first; it != last; ++it) {
        if (auto port = it->second.lock()) port->send(frame);
    }
}

void Dispatcher::perform(const dispatch::AppendTimeline& a) {
    const std::string type(dispatch::to_string(a.type));
    log_.append({a.incident, to_unix_micros(a.at), type, a.actor,
                 a.unit.empty() ? std::nullopt : std::optional<std::string>(a.unit),
                 a.details.dump(), next_event_key()});
    // After the step that closed it the core has forgotten the incident: no
    // state then (the event's type says how it ended), but its school and
    // district came with the action.
    std::string state;
    if (const auto* incident = core_.incident(a.incident))
        state = std::string(dispatch::to_string(core_.status_of(*incident)));
    console_protocol::Event event{a.incident, type, to_unix_micros(a.at), a.actor, a.unit, a.school,
                                  a.drill,    state};
    consoles_.publish(a.district, console_protocol::encode_event(event, a.details));
}

void Dispatcher::perform(const dispatch::StartTimer& a) {
    if (stopped_) return;
    auto t = std::make_unique<asio::steady_timer>(strand_);
    const auto delay = a.deadline - clock_.time_point();
    t->expires_after(std::max<std::chrono::steady_clock::duration>(delay, std::chrono::seconds(0)));
    t->async_wait([this, key = a.key](boost::system::error_code ec) {
        if (ec) return;
        timers_.erase(key);
        handle(dispatch::OfferTimerFired{key.incident, key.unit, key.seq});
    });
    timers_[a.key] = std::move(t);
}

void Dispatcher::perform(const dispatch::CancelTimer& a) {
    if (auto it = timers_.find(a.key); it != timers_.end()) {
        it->second->cancel();
        timers_.erase(it);
    }
}

void Dispatcher::perform(const dispatch::IncidentClosed& a) {
    intake_.incident_closed(a.incident);
    offered_.erase(a.incident);
    log_info("dispatch",
             "incident " + a.incident + " " + std::string(dispatch::to_string(a.final_state)));
}

}  // namespace huxiao
