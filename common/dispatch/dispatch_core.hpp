// DispatchCore: the dispatch state machine, from an alarm to units on scene.
// Pure and deterministic: `handle(event, now)` changes the in-memory state and
// returns the actions for the shell to perform (send, push, append, arm or
// disarm timers, reply with an error); it does no I/O and reads no clock. The
// shell runs it on one strand, feeds every unit message, console command, timer
// expiry and a periodic Tick, and executes the returned actions in order.
// docs/dispatch.md describes the states, the ranking and the race outcomes.
//
// Error codes in ReplyError:
//   to units:    not_assigned (not part of the incident: never offered, offer
//                expired or withdrawn, already cleared, incident closed),
//                invalid_state (decline after arriving), unknown_unit, bad_frame
//                (position out of range)
//   to consoles: not_found (no open incident), unknown_unit, unit_busy (on another
//                incident), unit_unavailable (disconnected or out of service),
//                already_assigned (already offered or assigned this incident)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dispatch/actions.hpp"
#include "common/dispatch/core_config.hpp"
#include "common/dispatch/events.hpp"
#include "common/dispatch/incident.hpp"
#include "common/geo/unit_router.hpp"
#include "common/model/registry.hpp"

namespace huxiao::dispatch {

class DispatchCore {
  public:
    // `router` defaults to a NearestUnitRouter built from `config`; a router
    // passed in must have been built with config.router_options() (or
    // equivalent) and must be empty: the core feeds it.
    DispatchCore(CoreConfig config, const Registry& registry,
                 std::unique_ptr<geo::UnitRouter> router = nullptr);
    ~DispatchCore();
    DispatchCore(const DispatchCore&) = delete;
    DispatchCore& operator=(const DispatchCore&) = delete;

    // Every call first expires offers whose deadline is <= now (the deadline is
    // the truth, not the timer), then applies the event, then offers open places
    // of waiting incidents (oldest first) and pushes changed statuses.
    std::vector<Action> handle(const Event& event, TimePoint now);

    // Loads an open incident at start-up, before any handle(). Returns a
    // StartTimer for each open offer (deadlines as recorded, possibly past).
    // Offers whose deadline passed while the server was down expire at the next
    // handle(); the shell should feed a Tick once everything is restored.
    // Offers to units the registry does not know are dropped.
    std::vector<Action> restore(Incident incident);

    // Applies a new registry snapshot: schools, units (new ones start
    // disconnected, removed ones are retired once free) and guard posts.
    void replace_registry(const Registry& registry);

    const CoreConfig& config() const { return config_; }
    const Incident* incident(std::string_view id) const;
    const UnitState* unit(std::string_view id) const;
    // Open incidents, oldest first (console snapshot).
    std::vector<const Incident*> open_incidents() const;
    std::vector<const UnitState*> units() const;
    // The status the school would be shown now (also what the last push said).
    IncidentStatus status_of(const Incident& incident) const;

  private:
    class Step;  // one handle() call: `now` and the actions being collected
    friend class Step;

    // Open incidents by (received_at, id): the order offers are made in.
    std::vector<Incident*> open_order();

    CoreConfig config_;
    std::unique_ptr<geo::UnitRouter> router_;
    std::map<std::string, School, std::less<>> schools_;
    std::map<std::string, UnitState, std::less<>> units_;
    std::map<std::string, Incident, std::less<>> incidents_;
    std::uint64_t next_seq_ = 1;
    // Set when units may have become routable (freed, connected, back in
    // service, reporting again after going stale) or an incident has places to
    // fill; only then are open places offered. Saves ranking every waiting
    // incident on every position report.
    bool refill_ = true;
};

}  // namespace huxiao::dispatch
