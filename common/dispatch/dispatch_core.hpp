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
#include <set>
#include <string>
#include <string_view>
#include <tuple>
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

    // (received_at, id): the order offers are made in.
    struct ReceivedFirst {
        bool operator()(const Incident* a, const Incident* b) const;
    };
    using ByReceipt = std::set<Incident*, ReceivedFirst>;

    // Files an incident under unfilled_ or short_ after its places, offers,
    // assignments or shortage changed; untrack() before it is erased.
    void track(Incident& inc);
    void untrack(Incident& inc);
    // The next incident to offer units to after `after` (nullptr: the oldest).
    Incident* next_to_fill(Incident* after, bool recheck_short);
    // Tells the router (and eligible_) whether the unit may take new work.
    void sync_router(const UnitState& u);

    CoreConfig config_;
    std::unique_ptr<geo::UnitRouter> router_;
    std::map<std::string, School, std::less<>> schools_;
    std::map<std::string, UnitState, std::less<>> units_;
    std::map<std::string, Incident, std::less<>> incidents_;
    std::uint64_t next_seq_ = 1;

    // Indexes, so that one event costs the same with 10 or 10,000 incidents
    // waiting (the alarm storm, docs/performance.md §12).
    //
    // Open incidents with places not covered by an offer or an assignment, by
    // receipt, split by whether their shortage is recorded (no_unit_available).
    // The new and reopened ones (unfilled_) are offered units at the end of
    // every step; the ones already short only when recheck_short_ says a unit
    // may have become routable and some unit is eligible, since otherwise the
    // router would find nobody for them again.
    ByReceipt unfilled_;
    ByReceipt short_;
    // Set when an incident already short of units might now get one: a unit
    // may have become routable (freed, connected, back in service, reporting
    // again after going stale), or the registry or the open incidents changed
    // under the core (replace_registry, restore).
    bool recheck_short_ = true;
    // Units the router may rank: connected, in service, free, not retired.
    std::set<std::string, std::less<>> eligible_;
    // Every open offer's (deadline, incident, seq), soonest first, so a step
    // looks only at the offers that are due. An entry outlives an offer
    // answered or withdrawn before its deadline and is dropped when it comes
    // due: seqs are unique and deadlines never move, so (incident, seq) says
    // whether the offer is still open.
    std::set<std::tuple<TimePoint, std::string, std::uint64_t>> deadlines_;
};

}  // namespace huxiao::dispatch
