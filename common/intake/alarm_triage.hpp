// Decides, in memory and at once, what an incoming terminal alarm is:
// a retransmission of one already seen, a repeat alarm joining the school's
// open incident (contract §6, `repeat_window_s`), or a new incident.
//
// Deciding here rather than in the database lets dispatching start before the
// alarm's commit (a slow database must not delay the offer to a unit). The
// database still holds the final word on idempotency: its unique key on
// (terminal, alarm id) returns the incident already recorded, and the shell
// reconciles the rare disagreement (an alarm id this process has forgotten).
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
using TriageOutcome = std::variant<NewIncident, RepeatAlarm, Retransmission>;

class AlarmTriage {
  public:
    explicit AlarmTriage(int repeat_window_s)
        : repeat_window_us_(repeat_window_s * kMicrosPerSecond) {}

    // How long alarm ids of closed incidents are remembered in memory.
    static constexpr UnixMicros kRememberClosed = 24LL * 3600 * kMicrosPerSecond;

    TriageOutcome triage(const TriageInput& alarm);

    // An incident recovered from the database at start, with its alarm ids.
    struct OpenIncident {
        std::string incident;
        std::string school;
        bool drill = false;
        UnixMicros last_alarm_at = 0;
        // (terminal, alarm id), in the order received
        std::vector<std::pair<std::string, std::string>> alarms;
    };
    void restore(const OpenIncident& incident);

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
};

}  // namespace huxiao
