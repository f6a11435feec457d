#include "common/dispatch/dispatch_core.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>
#include <utility>

#include "common/geo/geo.hpp"
#include "common/geo/nearest_unit_router.hpp"

namespace huxiao::dispatch {

using nlohmann::json;

namespace {

int whole_seconds(double s) { return static_cast<int>(std::lround(s)); }

// How far an assignment got, for the school's view of the incident.
int progress_rank(const Assignment& a) {
    if (a.arrived) return 3;
    return a.progress == UnitProgress::en_route ? 2 : 1;
}

TimePoint reached_at(const Assignment& a) {
    if (a.arrived) return a.arrived_at;
    return a.progress == UnitProgress::en_route ? a.en_route_at : a.accepted_at;
}

// What the school is shown: the most advanced unit (the first to get that far),
// else the first open offer, else whether units are lacking. Units that arrived
// and cleared still count as on scene, so the state never goes backwards while
// someone is or was there.
struct Lead {
    IncidentStatus state = IncidentStatus::received;
    const Assignment* assignment = nullptr;
    const Offer* offer = nullptr;

    std::string unit() const {
        if (assignment != nullptr) return assignment->unit;
        if (offer != nullptr) return offer->unit;
        return {};
    }
};

Lead lead_of(const Incident& inc) {
    Lead lead;
    for (const Assignment& a : inc.assignments) {
        if (lead.assignment == nullptr || progress_rank(a) > progress_rank(*lead.assignment) ||
            (progress_rank(a) == progress_rank(*lead.assignment) &&
             reached_at(a) < reached_at(*lead.assignment))) {
            lead.assignment = &a;
        }
    }
    if (lead.assignment != nullptr) {
        constexpr IncidentStatus kByRank[] = {IncidentStatus::received, IncidentStatus::accepted,
                                              IncidentStatus::en_route, IncidentStatus::on_scene};
        lead.state = kByRank[progress_rank(*lead.assignment)];
    } else if (!inc.offers.empty()) {
        lead.state = IncidentStatus::dispatched;
        lead.offer = &inc.offers.front();
    } else if (inc.short_of_units) {
        lead.state = IncidentStatus::no_unit_available;
    }
    return lead;
}

bool received_first(const Incident* a, const Incident* b) {
    return std::tie(a->received_at, a->id) < std::tie(b->received_at, b->id);
}

// Places of the incident not covered by an offer or an assignment.
int open_places(const Incident& inc) {
    return inc.places - static_cast<int>(inc.assignments.size()) -
           static_cast<int>(inc.offers.size());
}

}  // namespace

// One handle() call. Holds `now` and collects the actions; all state lives in
// the core. Handlers that close an incident erase it, so they return right after.
class DispatchCore::Step {
  public:
    Step(DispatchCore& core, TimePoint now) : c_(core), now_(now) {}

    std::vector<Action> run(const Event& event) {
        expire_overdue();
        std::visit([this](const auto& e) { on(e); }, event);
        fill_places();
        push_statuses();
        return std::move(out_);
    }

  private:
    // ---- incidents and alarms --------------------------------------------

    void on(const AlarmIntaken& e) {
        // A repeat alarm joins its incident; the shell records it and the
        // offers already made stand. A new incident delivered twice is ignored.
        if (!e.new_incident || c_.incidents_.contains(e.incident)) return;
        Incident inc;
        inc.id = e.incident;
        inc.school = e.school;
        inc.kind = e.kind;
        inc.drill = e.drill;
        inc.received_at = e.received_at;
        inc.places = std::max(1, c_.config_.units_required_for(e.kind));
        inc.pushed_state = IncidentStatus::received;
        out_.push_back(PushStatus{inc.school, inc.id, IncidentStatus::received, {}, {}, now_});
        std::string id = inc.id;
        Incident& added = c_.incidents_.emplace(std::move(id), std::move(inc)).first->second;
        // Offers follow in fill_places(), in turn with the other waiting incidents.
        c_.track(added);
    }

    void on(const ConsoleCancel& e) {
        Incident* inc = console_incident(e.incident);
        if (inc == nullptr) return;
        close(*inc, IncidentStatus::cancelled, e.actor,
              {{"reason", e.reason}, {"units", open_units(*inc)}});
    }

    void on(const AlarmReconciled& e) {
        if (e.proposed == e.recorded) return;
        Incident* inc = find_incident(e.proposed);
        if (inc == nullptr) return;
        close(*inc, IncidentStatus::cancelled, "system",
              {{"reason", "duplicate of " + e.recorded}, {"units", open_units(*inc)}});
    }

    void on(const ConsoleResolve& e) {
        Incident* inc = console_incident(e.incident);
        if (inc == nullptr) return;
        close(*inc, IncidentStatus::resolved, e.actor, {{"source", "console"}, {"note", e.note}});
    }

    void on(const ConsoleAcknowledge& e) {
        Incident* inc = console_incident(e.incident);
        if (inc == nullptr || inc->acknowledged) return;  // the first acknowledgement counts
        inc->acknowledged = true;
        append(*inc, TimelineType::console_acknowledged, e.actor, {}, json::object());
    }

    void on(const ConsoleNote& e) {
        Incident* inc = console_incident(e.incident);
        if (inc == nullptr) return;
        append(*inc, TimelineType::note, e.actor, {}, {{"text", e.text}});
    }

    // A dispatcher's directed offer, outside the ranking and the passed list.
    // While places are open it takes one; while open offers cover every place it
    // competes with them (first accept wins, the rest are withdrawn); when every
    // place is taken by an assignment it asks for one more unit (reinforcement).
    void on(const ConsoleAssign& e) {
        Incident* inc = console_incident(e.incident);
        if (inc == nullptr) return;
        UnitState* u = find_unit(e.unit);
        if (u == nullptr) {
            console_error("unknown_unit", "no such unit", e.incident);
            return;
        }
        if (inc->offer_for(e.unit) != nullptr || inc->assignment_for(e.unit) != nullptr) {
            console_error("already_assigned", "unit already offered or assigned this incident",
                          e.incident);
            return;
        }
        if (!u->incident.empty()) {
            console_error("unit_busy", "unit is on incident " + u->incident, e.incident);
            return;
        }
        if (!u->connected || !u->available || u->retired) {
            console_error("unit_unavailable",
                          u->connected ? "unit is out of service" : "unit is not connected",
                          e.incident);
            return;
        }
        geo::RankedUnit r{e.unit, 0, 0, false};
        if (const School* s = school(*inc)) {
            if (auto est = c_.router_->estimate(e.unit, s->location)) r = *est;
        }
        const bool reinforcement = static_cast<int>(inc->assignments.size()) >= inc->places;
        if (reinforcement) ++inc->places;
        send_offer(*inc, r, e.actor, "console", true, reinforcement);
    }

    // ---- unit sessions -----------------------------------------------------

    void on(const UnitConnected& e) {
        UnitState* u = known_unit(e.unit, {});
        if (u == nullptr) return;
        u->connected = true;
        // Connecting counts as re-reporting the last known position (the home
        // position if the unit never reported): it is routable at once and goes
        // stale unit_stale_s later unless it reports.
        u->last_report = now_;
        c_.router_->set_position(u->id, u->position, now_);
        c_.sync_router(*u);
        c_.recheck_short_ = true;
        // An offer restored at start-up (or sent just before a reconnect) is
        // sent again with the time it has left.
        if (Incident* inc = find_incident(u->incident)) {
            if (const Offer* o = inc->offer_for(u->id)) {
                const auto left = std::chrono::ceil<std::chrono::seconds>(o->deadline - now_);
                out_.push_back(SendToUnit{
                    u->id, offer_message(*inc, o->eta_s, static_cast<int>(left.count()))});
            }
        }
    }

    void on(const UnitDisconnected& e) {
        UnitState* u = find_unit(e.unit);
        if (u == nullptr) return;
        u->connected = false;
        c_.sync_router(*u);
        // An open offer cannot be answered any more: it expires now and the next
        // unit gets it. An assignment stays: a unit on its way keeps driving
        // through a dropped mobile connection.
        if (Incident* inc = find_incident(u->incident)) {
            if (const Offer* o = inc->offer_for(u->id)) expire(*inc, o->seq, false, "disconnected");
        }
    }

    void on(const UnitPosition& e) {
        UnitState* u = known_unit(e.unit, {});
        if (u == nullptr) return;
        const GeoPoint p{e.lat, e.lon};
        if (!geo::is_valid(p)) {
            unit_error(e.unit, "bad_frame", "lat/lon out of range", {});
            return;
        }
        // A unit reporting again after going stale may be routable again; a
        // fresh one was a candidate already, so moving it cannot serve a
        // waiting incident.
        if (now_ - u->last_report > std::chrono::seconds{c_.config_.unit_stale_s}) {
            c_.recheck_short_ = true;
        }
        u->position = p;
        u->reported = true;
        u->last_report = now_;
        c_.router_->set_position(u->id, p, now_);
        geofence(*u);
    }

    void on(const UnitAvailability& e) {
        UnitState* u = known_unit(e.unit, {});
        if (u == nullptr) return;
        if (e.available && !u->available) c_.recheck_short_ = true;
        u->available = e.available;
        c_.sync_router(*u);
        // Going out of service with an offer open is a decline. An assignment
        // stays: availability applies to new work after this incident.
        if (!e.available) {
            if (Incident* inc = find_incident(u->incident)) {
                if (inc->offer_for(u->id) != nullptr) {
                    decline_offer(*inc, u->id, "out_of_service");
                }
            }
        }
    }

    void on(const UnitAccept& e) {
        UnitState* u = known_unit(e.unit, e.incident);
        if (u == nullptr) return;
        Incident* inc = find_incident(e.incident);
        if (inc == nullptr) return not_assigned(e.unit, e.incident, "no open incident");
        if (const Assignment* a = inc->assignment_for(e.unit)) {
            if (a->progress == UnitProgress::cleared) {
                return not_assigned(e.unit, e.incident, "unit has cleared");
            }
            return;  // accepted already: a repeated accept changes nothing
        }
        const Offer* o = inc->offer_for(e.unit);
        if (o == nullptr) {
            return not_assigned(e.unit, e.incident, "no open offer (expired or withdrawn)");
        }
        const Offer offer = *o;
        erase_offer(*inc, offer.unit);
        out_.push_back(CancelTimer{key(*inc, offer)});
        if (static_cast<int>(inc->assignments.size()) >= inc->places) {
            // Cannot happen while offers beyond the free places are withdrawn
            // when the last place is taken; kept as a safe outcome.
            c_.track(*inc);
            withdraw(*inc, offer, WithdrawReason::reassigned, true);
            return not_assigned(e.unit, e.incident, "all places taken");
        }
        Assignment a;
        a.unit = offer.unit;
        a.accepted_at = now_;
        a.eta_s = offer.eta_s;
        if (const School* s = school(*inc)) {
            if (auto est = c_.router_->estimate(a.unit, s->location)) a.eta_s = est->eta_s;
        }
        inc->assignments.push_back(a);
        // The last place is taken: the other open offers are withdrawn.
        std::vector<Offer> others;
        if (static_cast<int>(inc->assignments.size()) >= inc->places) others.swap(inc->offers);
        c_.track(*inc);
        json details{{"eta_s", whole_seconds(a.eta_s)}, {"seq", offer.seq}};
        if (!others.empty()) {
            json w = json::array();
            for (const Offer& x : others) w.push_back(x.unit);
            details["withdrawn"] = w;
        }
        append(*inc, TimelineType::unit_accepted, a.unit, a.unit, std::move(details));
        for (const Offer& x : others) {
            out_.push_back(CancelTimer{key(*inc, x)});
            withdraw(*inc, x, WithdrawReason::reassigned, false);
        }
        // A unit accepting at the gate (a guard post) has arrived already. Only
        // a position the unit reported counts, not its registry home.
        if (u->reported) geofence(*u);
    }

    void on(const UnitDecline& e) {
        UnitState* u = known_unit(e.unit, e.incident);
        if (u == nullptr) return;
        Incident* inc = find_incident(e.incident);
        if (inc == nullptr) return not_assigned(e.unit, e.incident, "no open incident");
        if (inc->offer_for(e.unit) != nullptr) return decline_offer(*inc, e.unit, e.reason);
        Assignment* a = active_assignment(*inc, e.unit);
        if (a == nullptr) return not_assigned(e.unit, e.incident, "no open offer or assignment");
        if (a->arrived) {
            unit_error(e.unit, "invalid_state", "unit is on scene; send clear", e.incident);
            return;
        }
        // Declining after accepting backs out: the place reopens for the next
        // best unit and this unit is not offered the incident again.
        append(*inc, TimelineType::offer_declined, e.unit, e.unit,
               {{"reason", e.reason}, {"after_accept", true}});
        back_out(*inc, e.unit);
        check_resolved(*inc);
    }

    void on(const UnitEnRoute& e) {
        UnitState* u = known_unit(e.unit, e.incident);
        if (u == nullptr) return;
        Incident* inc = find_incident(e.incident);
        Assignment* a = inc ? active_assignment(*inc, e.unit) : nullptr;
        if (a == nullptr) return not_assigned(e.unit, e.incident, "unit is not assigned");
        if (a->progress != UnitProgress::accepted) return;  // en route or beyond already
        a->progress = UnitProgress::en_route;
        a->en_route_at = now_;
        append(*inc, TimelineType::unit_en_route, e.unit, e.unit, json::object());
    }

    void on(const UnitArrived& e) {
        UnitState* u = known_unit(e.unit, e.incident);
        if (u == nullptr) return;
        Incident* inc = find_incident(e.incident);
        Assignment* a = inc ? active_assignment(*inc, e.unit) : nullptr;
        if (a == nullptr) return not_assigned(e.unit, e.incident, "unit is not assigned");
        if (a->arrived) return;  // the geofence (or an earlier report) was first
        arrive(*inc, *a, e.unit, {{"source", "unit"}});
    }

    void on(const UnitClear& e) {
        UnitState* u = known_unit(e.unit, e.incident);
        if (u == nullptr) return;
        Incident* inc = find_incident(e.incident);
        Assignment* a = inc ? active_assignment(*inc, e.unit) : nullptr;
        if (a == nullptr) return not_assigned(e.unit, e.incident, "unit is not assigned");
        if (a->arrived) {
            a->progress = UnitProgress::cleared;
            a->cleared_at = now_;
            append(*inc, TimelineType::unit_cleared, e.unit, e.unit,
                   {{"outcome", e.outcome}, {"arrived", true}});
            release(*u);
        } else {
            // Clearing before arriving is backing out (like a decline after
            // accept): the unit never reached the school, so the place reopens.
            append(*inc, TimelineType::unit_cleared, e.unit, e.unit,
                   {{"outcome", e.outcome}, {"arrived", false}});
            back_out(*inc, e.unit);
        }
        check_resolved(*inc);
    }

    void on(const OfferTimerFired& e) {
        Incident* inc = find_incident(e.incident);
        if (inc == nullptr) return;
        const Offer* o = inc->offer_for(e.unit);
        // A timer of an offer already answered, withdrawn or replaced: stale.
        if (o == nullptr || o->seq != e.seq) return;
        expire(*inc, e.seq, true, "timeout");
    }

    void on(const Tick&) {
        // Nothing beyond what every call does: expire overdue offers, fill places.
    }

    // ---- transitions ---------------------------------------------------------

    // Incidents with offers due expire them oldest incident first, each in
    // the order its offers were sent.
    void expire_overdue() {
        std::vector<Incident*> late;
        auto& deadlines = c_.deadlines_;
        while (!deadlines.empty() && std::get<TimePoint>(*deadlines.begin()) <= now_) {
            const auto due = deadlines.extract(deadlines.begin());
            Incident* inc = find_incident(std::get<std::string>(due.value()));
            if (inc == nullptr || !has_offer(*inc, std::get<std::uint64_t>(due.value()))) {
                continue;  // answered or withdrawn before its deadline
            }
            if (std::find(late.begin(), late.end(), inc) == late.end()) late.push_back(inc);
        }
        std::sort(late.begin(), late.end(), received_first);
        for (Incident* inc : late) {
            std::vector<std::uint64_t> due;
            for (const Offer& o : inc->offers) {
                if (o.deadline <= now_) due.push_back(o.seq);
            }
            for (std::uint64_t seq : due) expire(*inc, seq, false, "timeout");
        }
    }

    void expire(Incident& inc, std::uint64_t seq, bool timer_fired, const char* cause) {
        auto it = std::find_if(inc.offers.begin(), inc.offers.end(),
                               [&](const Offer& o) { return o.seq == seq; });
        if (it == inc.offers.end()) return;
        const Offer offer = *it;
        inc.offers.erase(it);
        c_.track(inc);
        if (!timer_fired) out_.push_back(CancelTimer{key(inc, offer)});
        append(inc, TimelineType::offer_expired, "system", offer.unit,
               {{"seq", offer.seq}, {"cause", cause}});
        send_if_connected(offer.unit, OfferWithdrawnMessage{inc.id, WithdrawReason::expired});
        pass(inc, offer.unit);
        if (UnitState* u = find_unit(offer.unit)) release(*u);
    }

    void decline_offer(Incident& inc, const std::string& unit, const std::string& reason) {
        const Offer offer = *inc.offer_for(unit);
        erase_offer(inc, unit);
        c_.track(inc);
        out_.push_back(CancelTimer{key(inc, offer)});
        append(inc, TimelineType::offer_declined, unit, unit,
               {{"reason", reason}, {"seq", offer.seq}});
        pass(inc, unit);
        if (UnitState* u = find_unit(unit)) release(*u);
    }

    // Takes back an offer already removed from the incident.
    void withdraw(Incident& inc, const Offer& offer, WithdrawReason reason, bool quiet) {
        if (!quiet) send_if_connected(offer.unit, OfferWithdrawnMessage{inc.id, reason});
        if (UnitState* u = find_unit(offer.unit)) {
            if (u->incident == inc.id) release(*u);
        }
    }

    void back_out(Incident& inc, const std::string& unit) {
        std::erase_if(inc.assignments, [&](const Assignment& a) { return a.unit == unit; });
        c_.track(inc);
        pass(inc, unit);
        if (UnitState* u = find_unit(unit)) release(*u);
    }

    void arrive(Incident& inc, Assignment& a, const std::string& actor, json details) {
        a.arrived = true;
        a.progress = UnitProgress::on_scene;
        a.arrived_at = now_;
        append(inc, TimelineType::unit_arrived, actor, a.unit, std::move(details));
    }

    void geofence(const UnitState& u) {
        Incident* inc = find_incident(u.incident);
        if (inc == nullptr) return;
        Assignment* a = active_assignment(*inc, u.id);
        const School* s = school(*inc);
        if (a == nullptr || a->arrived || s == nullptr) return;
        const double d = geo::haversine_m(u.position, s->location);
        if (d > c_.config_.arrival_radius_m) return;
        arrive(*inc, *a, "system", {{"source", "geofence"}, {"distance_m", std::lround(d)}});
    }

    // Resolution rule: every unit that accepted and stayed has cleared, and at
    // least one of them (hence all: those leaving before arrival are removed)
    // arrived. Open offers and unfilled places do not hold it open: the units
    // on scene judged it over.
    void check_resolved(Incident& inc) {
        if (inc.assignments.empty()) return;
        for (const Assignment& a : inc.assignments) {
            if (a.progress != UnitProgress::cleared) return;
        }
        close(inc, IncidentStatus::resolved, "system", {{"source", "units_cleared"}});
    }

    void close(Incident& inc, IncidentStatus final_state, const std::string& actor, json details) {
        append(inc,
               final_state == IncidentStatus::resolved ? TimelineType::resolved
                                                       : TimelineType::cancelled,
               actor, {}, std::move(details));
        for (const Offer& o : inc.offers) {
            out_.push_back(CancelTimer{key(inc, o)});
            withdraw(inc, o, WithdrawReason::cancelled, false);
        }
        inc.offers.clear();
        for (const Assignment& a : inc.assignments) {
            send_if_connected(a.unit, IncidentClosedMessage{inc.id});
            if (UnitState* u = find_unit(a.unit)) {
                if (u->incident == inc.id) release(*u);
            }
        }
        out_.push_back(PushStatus{inc.school, inc.id, final_state, {}, {}, now_});
        out_.push_back(IncidentClosed{inc.id, final_state, inc.school, district_of(inc)});
        c_.untrack(inc);
        const std::string id = inc.id;
        c_.incidents_.erase(id);
    }

    // Offers the open places of waiting incidents, oldest incident first, so
    // freed units go where they have been needed longest. An incident already
    // short of units is ranked again only when a unit may have become routable
    // (an alarm in a storm with every unit busy visits only itself).
    void fill_places() {
        const bool recheck_short = std::exchange(c_.recheck_short_, false);
        Incident* inc = nullptr;
        while ((inc = c_.next_to_fill(inc, recheck_short)) != nullptr) fill(*inc);
    }

    void fill(Incident& inc) {
        const int need = open_places(inc);
        if (need <= 0) {
            inc.short_of_units = false;
            return;
        }
        std::vector<geo::RankedUnit> ranked;
        if (const School* s = school(inc)) {
            geo::RouteRequest request;
            request.school = inc.school;
            request.location = s->location;
            request.count = static_cast<std::size_t>(need);
            request.now = now_;
            request.exclude = [&inc](std::string_view unit) {
                return inc.has_passed(unit) || inc.offer_for(unit) != nullptr ||
                       inc.assignment_for(unit) != nullptr;
            };
            ranked = c_.router_->rank(request);
        }
        int sent = 0;
        for (const geo::RankedUnit& r : ranked) {
            if (find_unit(r.unit) == nullptr) continue;
            send_offer(inc, r, "system", r.guard_post ? "guard_post" : "nearest", false, false);
            ++sent;
        }
        if (sent == need) {
            inc.short_of_units = false;
        } else if (!inc.short_of_units) {
            inc.short_of_units = true;
            append(inc, TimelineType::no_unit_available, "system", {},
                   {{"missing", need - sent}, {"places", inc.places}});
        }
        c_.track(inc);
    }

    void send_offer(Incident& inc, const geo::RankedUnit& r, const std::string& actor,
                    const char* rank, bool directed, bool reinforcement) {
        Offer o;
        o.unit = r.unit;
        o.seq = c_.next_seq_++;
        o.sent_at = now_;
        o.deadline = now_ + std::chrono::seconds{c_.config_.offer_timeout_s};
        o.eta_s = r.eta_s;
        o.directed = directed;
        inc.offers.push_back(o);
        c_.deadlines_.emplace(o.deadline, inc.id, o.seq);
        // Every place covered ends the shortage (the next one is recorded anew).
        if (open_places(inc) <= 0) inc.short_of_units = false;
        c_.track(inc);
        if (UnitState* u = find_unit(r.unit)) {
            u->incident = inc.id;
            c_.sync_router(*u);
        }
        json details{{"seq", o.seq},
                     {"eta_s", whole_seconds(o.eta_s)},
                     {"distance_m", std::lround(r.distance_m)},
                     {"expires_in_s", c_.config_.offer_timeout_s},
                     {"rank", rank}};
        if (reinforcement) details["reinforcement"] = true;
        append(inc, TimelineType::offer_sent, actor, o.unit, std::move(details));
        out_.push_back(SendToUnit{o.unit, offer_message(inc, o.eta_s, c_.config_.offer_timeout_s)});
        out_.push_back(StartTimer{key(inc, o), o.deadline});
    }

    void push_statuses() {
        std::vector<Incident*> changed;
        for (const std::string& id : touched_) {
            if (Incident* inc = find_incident(id)) changed.push_back(inc);
        }
        std::sort(changed.begin(), changed.end(), received_first);
        for (Incident* inc : changed) {
            const Lead lead = lead_of(*inc);
            const std::string unit = lead.unit();
            if (inc->pushed_state == lead.state && inc->pushed_unit == unit) continue;
            inc->pushed_state = lead.state;
            inc->pushed_unit = unit;
            std::optional<int> eta;
            if (lead.offer != nullptr) {
                eta = whole_seconds(lead.offer->eta_s);
            } else if (lead.assignment != nullptr && !lead.assignment->arrived) {
                // Accepted or en route: from where the unit is now.
                double eta_s = lead.assignment->eta_s;
                if (const School* s = school(*inc)) {
                    if (auto est = c_.router_->estimate(unit, s->location)) eta_s = est->eta_s;
                }
                eta = whole_seconds(eta_s);
            }
            out_.push_back(PushStatus{inc->school, inc->id, lead.state, unit, eta, now_});
        }
    }

    // ---- helpers ---------------------------------------------------------------

    OfferMessage offer_message(const Incident& inc, double eta_s, int expires_in_s) const {
        OfferMessage m{inc.id,      inc.kind, inc.drill, inc.school, {}, {}, whole_seconds(eta_s),
                       expires_in_s};
        if (const School* s = school(inc)) {
            m.school_name = s->name;
            m.school_location = s->location;
        }
        return m;
    }

    // Every change the school could see comes with a timeline event, so the
    // incidents appended to are the ones whose status may have changed.
    void append(Incident& inc, TimelineType type, const std::string& actor, const std::string& unit,
                json details) {
        out_.push_back(AppendTimeline{inc.id, now_, type, actor, unit, std::move(details),
                                      inc.school, district_of(inc), inc.drill});
        touch(inc);
    }

    std::string district_of(const Incident& inc) const {
        const School* s = school(inc);
        return s == nullptr ? std::string() : s->district;
    }

    // Units assigned and not yet cleared: the ones a cancellation sends home.
    static json open_units(const Incident& inc) {
        json units = json::array();
        for (const Assignment& a : inc.assignments) {
            if (a.progress != UnitProgress::cleared) units.push_back(a.unit);
        }
        return units;
    }

    void touch(const Incident& inc) {
        if (std::find(touched_.begin(), touched_.end(), inc.id) == touched_.end()) {
            touched_.push_back(inc.id);
        }
    }

    void send_if_connected(const std::string& unit, UnitMessage message) {
        const UnitState* u = find_unit(unit);
        if (u != nullptr && u->connected) out_.push_back(SendToUnit{unit, std::move(message)});
    }

    void pass(Incident& inc, const std::string& unit) {
        if (!inc.has_passed(unit)) inc.passed.push_back(unit);
    }

    void release(UnitState& u) {
        u.incident.clear();
        c_.sync_router(u);
        c_.recheck_short_ = true;
    }

    static void erase_offer(Incident& inc, const std::string& unit) {
        std::erase_if(inc.offers, [&](const Offer& o) { return o.unit == unit; });
    }

    static bool has_offer(const Incident& inc, std::uint64_t seq) {
        return std::any_of(inc.offers.begin(), inc.offers.end(),
                           [&](const Offer& o) { return o.seq == seq; });
    }

    static OfferTimerKey key(const Incident& inc, const Offer& o) {
        return OfferTimerKey{inc.id, o.unit, o.seq};
    }

    static Assignment* active_assignment(Incident& inc, std::string_view unit) {
        for (Assignment& a : inc.assignments) {
            if (a.unit == unit && a.progress != UnitProgress::cleared) return &a;
        }
        return nullptr;
    }

    Incident* find_incident(std::string_view id) {
        if (id.empty()) return nullptr;
        auto it = c_.incidents_.find(id);
        return it == c_.incidents_.end() ? nullptr : &it->second;
    }

    UnitState* find_unit(std::string_view id) {
        auto it = c_.units_.find(id);
        return it == c_.units_.end() ? nullptr : &it->second;
    }

    const School* school(const Incident& inc) const {
        auto it = c_.schools_.find(inc.school);
        return it == c_.schools_.end() ? nullptr : &it->second;
    }

    UnitState* known_unit(const std::string& unit, const std::string& ref) {
        UnitState* u = find_unit(unit);
        if (u == nullptr) unit_error(unit, "unknown_unit", "unit is not in the registry", ref);
        return u;
    }

    Incident* console_incident(const std::string& id) {
        Incident* inc = find_incident(id);
        if (inc == nullptr) console_error("not_found", "no open incident " + id, id);
        return inc;
    }

    void not_assigned(const std::string& unit, const std::string& incident, std::string why) {
        unit_error(unit, "not_assigned", std::move(why), incident);
    }

    void unit_error(const std::string& unit, std::string code, std::string message,
                    const std::string& ref) {
        out_.push_back(ReplyError{Peer::unit, unit, std::move(code), std::move(message), ref});
    }

    void console_error(std::string code, std::string message, const std::string& ref) {
        out_.push_back(ReplyError{Peer::console, {}, std::move(code), std::move(message), ref});
    }

    DispatchCore& c_;
    TimePoint now_;
    std::vector<Action> out_;
    std::vector<std::string> touched_;  // incidents changed in this step
};

DispatchCore::DispatchCore(CoreConfig config, const Registry& registry,
                           std::unique_ptr<geo::UnitRouter> router)
    : config_(std::move(config)), router_(std::move(router)) {
    if (!router_) router_ = std::make_unique<geo::NearestUnitRouter>(config_.router_options());
    replace_registry(registry);
}

DispatchCore::~DispatchCore() = default;

std::vector<Action> DispatchCore::handle(const Event& event, TimePoint now) {
    return Step(*this, now).run(event);
}

bool DispatchCore::ReceivedFirst::operator()(const Incident* a, const Incident* b) const {
    return received_first(a, b);
}

void DispatchCore::track(Incident& inc) {
    untrack(inc);
    if (open_places(inc) > 0) (inc.short_of_units ? short_ : unfilled_).insert(&inc);
}

void DispatchCore::untrack(Incident& inc) {
    unfilled_.erase(&inc);
    short_.erase(&inc);
}

// The two waiting lists merged in receipt order. The lists are searched
// anew from `after` each time, as filling an incident moves it between them.
Incident* DispatchCore::next_to_fill(Incident* after, bool recheck_short) {
    auto next = [after](const ByReceipt& list) -> Incident* {
        auto it = after == nullptr ? list.begin() : list.upper_bound(after);
        return it == list.end() ? nullptr : *it;
    };
    Incident* fresh = next(unfilled_);
    // The router ranks only eligible units (unit_router.hpp): with none, an
    // incident already short would stay so.
    if (!recheck_short || eligible_.empty()) return fresh;
    Incident* again = next(short_);
    if (fresh == nullptr || again == nullptr) return fresh != nullptr ? fresh : again;
    return received_first(fresh, again) ? fresh : again;
}

void DispatchCore::sync_router(const UnitState& u) {
    const bool eligible = u.connected && u.available && !u.retired && u.incident.empty();
    router_->set_eligible(u.id, eligible);
    if (eligible) {
        eligible_.insert(u.id);
    } else if (auto it = eligible_.find(u.id); it != eligible_.end()) {
        eligible_.erase(it);
    }
}

std::vector<Action> DispatchCore::restore(Incident incident) {
    std::vector<Action> out;
    if (incident.id.empty() || incidents_.contains(incident.id)) return out;
    std::erase_if(incident.offers, [&](const Offer& o) { return !units_.contains(o.unit); });
    for (Offer& o : incident.offers) {
        if (o.seq == 0) o.seq = next_seq_;
        next_seq_ = std::max(next_seq_, o.seq + 1);
        UnitState& u = units_.find(o.unit)->second;
        u.incident = incident.id;
        sync_router(u);
        deadlines_.emplace(o.deadline, incident.id, o.seq);
        out.push_back(StartTimer{OfferTimerKey{incident.id, o.unit, o.seq}, o.deadline});
    }
    for (const Assignment& a : incident.assignments) {
        auto it = units_.find(a.unit);
        if (a.progress == UnitProgress::cleared || it == units_.end()) continue;
        it->second.incident = incident.id;
        sync_router(it->second);
    }
    // Every place covered ends a shortage, as in send_offer(): a place that
    // reopens later records a new one.
    if (open_places(incident) <= 0) incident.short_of_units = false;
    if (!incident.pushed_state) {
        // The school was told something before the restart; assume it was this.
        const Lead lead = lead_of(incident);
        incident.pushed_state = lead.state;
        incident.pushed_unit = lead.unit();
    }
    std::string id = incident.id;
    track(incidents_.emplace(std::move(id), std::move(incident)).first->second);
    recheck_short_ = true;
    return out;
}

void DispatchCore::replace_registry(const Registry& registry) {
    schools_.clear();
    for (const School& s : registry.schools) schools_[s.id] = s;
    std::set<std::string, std::less<>> present;
    for (const Unit& unit : registry.units) {
        present.insert(unit.id);
        auto [it, inserted] = units_.try_emplace(unit.id);
        UnitState& u = it->second;
        if (inserted) u.id = unit.id;
        u.retired = false;
        if (!u.reported) {
            u.position = unit.home;
            // Never reported and not connected: stale (last_report at the epoch).
            router_->set_position(u.id, u.position, u.last_report);
        }
        sync_router(u);
    }
    for (auto& [id, u] : units_) {
        if (present.contains(id)) continue;
        u.retired = true;
        sync_router(u);
    }
    router_->set_guard_posts(registry.guard_posts);
    recheck_short_ = true;
}

const Incident* DispatchCore::incident(std::string_view id) const {
    auto it = incidents_.find(id);
    return it == incidents_.end() ? nullptr : &it->second;
}

const UnitState* DispatchCore::unit(std::string_view id) const {
    auto it = units_.find(id);
    return it == units_.end() ? nullptr : &it->second;
}

std::vector<const Incident*> DispatchCore::open_incidents() const {
    std::vector<const Incident*> v;
    v.reserve(incidents_.size());
    for (const auto& [id, inc] : incidents_) v.push_back(&inc);
    std::sort(v.begin(), v.end(), received_first);
    return v;
}

std::vector<const UnitState*> DispatchCore::units() const {
    std::vector<const UnitState*> v;
    v.reserve(units_.size());
    for (const auto& [id, u] : units_) v.push_back(&u);
    return v;
}

IncidentStatus DispatchCore::status_of(const Incident& incident) const {
    return lead_of(incident).state;
}

}  // namespace huxiao::dispatch
