// Decides, in memory and at once, what an incoming terminal alarm is:
// a retransmission of one already seen, a repeat alarm joining the school's
// open incident (contract §6, `repeat_window_s`), or a new incident.
//
// Deciding here rather than in the database lets dispatching start before the
// alarm's commit (a slow database must not delay the offer to a unit). The
// database still holds the final word on idempotency: its unique key on
// (terminal, alarm id) returns the incident already recorded, and the shell
// reconciles the rare disagreement (an alarm id this process has forgotten).
//
// At start the shell restores only each terminal's latest alarm of an open
// incident (a restart with 10,000 open incidents must not read every repeat
// alarm). An alarm id that such a terminal sends and memory does not know may
// be a retransmission of one of its older alarms: triage then decides nothing
// that others can see (`Unverified`) until the database has answered
// (`resolve`), so a retransmission never opens an incident, not even for a
// moment.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/util/time.hpp"

namespace huxiao {

// Unique, sortable, readable incident ids: "I-20260901-<base36 µs of day>".
// Monotonic within a process; across restarts the clock has moved on. The
// shell seeds `last` from the newest id in the database at start.
class IncidentIdGenerator {
  public:
    std::string next(UnixMicros now);
    void observe(UnixMicros issued_at) { last_ = std::max(last_, issued_at); }

  private:
    UnixMicros last_ = 0;
};

struct TriageInput {
    std::string terminal;
    std::string alarm_id;
    std::string school;
    bool drill = false;
    UnixMicros received_at = 0;
};

struct NewIncident {
    std::string incident;
};
struct RepeatAlarm {
    std::string incident;
};
struct Retransmission {
    std::string incident;
};
// An alarm id memory does not know from a terminal whose older alarm ids of
// an open incident were not restored: maybe new, maybe a retransmission.
// `incident` is what its record proposes (a new id, or the open incident it
// would join); nobody else sees it until resolve().
struct Unverified {
    std::string incident;
    bool joins = false;
};
using TriageOutcome = std::variant<NewIncident, RepeatAlarm, Retransmission, Unverified>;

class AlarmTriage {
  public:
    explicit AlarmTriage(int repeat_window_s)
        : repeat_window_us_(repeat_window_s * kMicrosPerSecond) {}

    // How long alarm ids of closed incidents are remembered in memory.
    static constexpr UnixMicros kRememberClosed = 24LL * 3600 * kMicrosPerSecond;

    TriageOutcome triage(const TriageInput& alarm);

    // An incident recovered from the database at start, with the alarm ids
    // that were read back (the shell reads each terminal's latest one).
    struct OpenIncident {
        std::string incident;
        std::string school;
        bool drill = false;
        UnixMicros last_alarm_at = 0;
        // (terminal, alarm id), in the order received
        std::vector<std::pair<std::string, std::string>> alarms;
    };
    void restore(const OpenIncident& incident);
    // The same when `terminals_with_older_alarms` have more alarms in the
    // incident than `incident.alarms` names: their unknown alarm ids are
    // Unverified while it is open (and for kRememberClosed after its last
    // alarm, as forgotten ids would be).
    void restore(const OpenIncident& incident,
                 const std::vector<std::string>& terminals_with_older_alarms);

    // What the database recorded for an Unverified alarm, once its record
    // committed: `recorded` is its incident, `recorded_now` whether this
    // record wrote it (outcome new or repeat) rather than found it.
    enum class Resolution {
        opened,     // a new incident, opened now (the core must hear of it)
        joined,     // it joined the open incident as a repeat alarm
        duplicate,  // a retransmission of an alarm recorded before
        none,       // nothing pending for it (an earlier commit resolved it)
    };
    // A record answered `unavailable` may still commit later, so its
    // proposal stays: the terminal's retry is Unverified with the same one,
    // and whichever commit comes first resolves it.
    Resolution resolve(const std::string& terminal, const std::string& alarm_id,
                       const std::string& recorded, bool recorded_now);

    // The incident was resolved or cancelled: later alarms open a new one.
    // Its alarm ids are remembered so a late retransmission still finds it.
    void close(const std::string& incident);

    // The database answered that (terminal, alarm id) already belonged to
    // `recorded`: remember that instead of what triage guessed.
    void correct(const std::string& terminal, const std::string& alarm_id,
                 const std::string& recorded);

    // The incident that a (terminal, alarm id) belongs to, if known.
    std::optional<std::string> incident_of(const std::string& terminal,
                                           const std::string& alarm_id) const;

    // The incident an Unverified alarm's record proposed, until it is resolved.
    std::optional<std::string> proposal_of(const std::string& terminal,
                                           const std::string& alarm_id) const;

    // The terminal's latest alarm, if its incident is still open (a DC-09
    // cancel names no alarm: contract §9, "the account's latest open alarm").
    std::optional<std::string> latest_open_alarm(const std::string& terminal) const;

    IncidentIdGenerator& ids() { return ids_; }
    std::size_t open_incidents() const { return open_by_school_.size(); }

  private:
    struct Open {
        std::string incident;
        bool drill;
        UnixMicros last_alarm_at;
    };
    static std::string key(const std::string& terminal, const std::string& alarm_id) {
        return terminal + '\x1f' + alarm_id;
    }

    UnixMicros repeat_window_us_;
    IncidentIdGenerator ids_;
    // school -> its open incidents (a real one and a drill may be open together)
    std::multimap<std::string, Open> open_by_school_;
    std::unordered_map<std::string, std::string> incident_by_alarm_;
    // Alarm ids in the order they were seen, so that those of incidents closed
    // long ago can be forgotten (the database still answers for them).
    void remember(const std::string& alarm_key, UnixMicros at);
    void forget_old(UnixMicros now);
    std::deque<std::pair<UnixMicros, std::string>> remembered_;
    std::unordered_set<std::string> open_ids_;
    struct Latest {
        std::string alarm_id;
        std::string incident;
    };
    std::unordered_map<std::string, Latest> latest_by_terminal_;  // one per terminal

    // Terminals whose older alarm ids of a restored incident are not in memory.
    struct Unrestored {
        std::string incident;
        UnixMicros last_alarm_at;
    };
    std::unordered_map<std::string, std::vector<Unrestored>> unrestored_by_terminal_;
    bool may_have_forgotten(const std::string& terminal, UnixMicros now);
    // Unverified alarms by key, until their record commits.
    struct Proposal {
        std::string incident;
        bool joins;
        std::string school;
        bool drill;
        UnixMicros received_at;
    };
    std::unordered_map<std::string, Proposal> unverified_;
};

}  // namespace huxiao
