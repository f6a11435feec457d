#include "common/intake/alarm_triage.hpp"

#include <algorithm>
#include <cstdio>

namespace huxiao {

std::string IncidentIdGenerator::next(UnixMicros now) {
    last_ = std::max(now, last_ + 1);
    const std::string iso = format_iso_micros(last_);  // 2026-09-01T07:30:00.123456Z
    const std::int64_t micros_of_day =
        ((last_ % (86400 * kMicrosPerSecond)) + 86400 * kMicrosPerSecond) %
        (86400 * kMicrosPerSecond);
    // Fixed width keeps ids of one day sortable as text. A day has
    // 86'400'000'000 µs, more than 36^7 (78'364'164'096): it takes 8 digits.
    char digits[9];
    static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::int64_t v = micros_of_day;
    for (int i = 7; i >= 0; --i) {
        digits[i] = kAlphabet[v % 36];
        v /= 36;
    }
    digits[8] = '\0';
    return "I-" + iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2) + "-" + digits;
}

void AlarmTriage::remember(const std::string& alarm_key, UnixMicros at) {
    remembered_.emplace_back(at, alarm_key);
}

void AlarmTriage::forget_old(UnixMicros now) {
    // Bounded work per call; ids of incidents still open are kept.
    for (int step = 0; step < 64 && !remembered_.empty(); ++step) {
        auto& [at, alarm_key] = remembered_.front();
        if (now - at < kRememberClosed) break;
        auto it = incident_by_alarm_.find(alarm_key);
        if (it != incident_by_alarm_.end() && open_ids_.count(it->second)) {
            remembered_.emplace_back(now, alarm_key);
        } else if (it != incident_by_alarm_.end()) {
            incident_by_alarm_.erase(it);
        }
        remembered_.pop_front();
    }
}

bool AlarmTriage::may_have_forgotten(const std::string& terminal, UnixMicros now) {
    auto it = unrestored_by_terminal_.find(terminal);
    if (it == unrestored_by_terminal_.end()) return false;
    // Bounded: a terminal has few restored incidents. Those closed longer
    // than kRememberClosed ago are dropped, as their alarm ids would be.
    std::erase_if(it->second, [&](const Unrestored& u) {
        return !open_ids_.count(u.incident) && now - u.last_alarm_at >= kRememberClosed;
    });
    if (it->second.empty()) {
        unrestored_by_terminal_.erase(it);
        return false;
    }
    return true;
}

TriageOutcome AlarmTriage::triage(const TriageInput& alarm) {
    forget_old(alarm.received_at);
    const std::string alarm_key = key(alarm.terminal, alarm.alarm_id);
    // A retry of an alarm still waiting for the database proposes the same.
    if (auto it = unverified_.find(alarm_key); it != unverified_.end()) {
        return Unverified{it->second.incident, it->second.joins};
    }
    if (auto known = incident_of(alarm.terminal, alarm.alarm_id)) return Retransmission{*known};

    Open* joined = nullptr;
    auto [first, last] = open_by_school_.equal_range(alarm.school);
    for (auto it = first; it != last; ++it) {
        Open& open = it->second;
        // A drill never absorbs a real alarm, nor the other way round.
        if (open.drill == alarm.drill &&
            alarm.received_at - open.last_alarm_at <= repeat_window_us_) {
            joined = &open;
            break;
        }
    }
    if (may_have_forgotten(alarm.terminal, alarm.received_at)) {
        Proposal proposal{joined != nullptr ? joined->incident : ids_.next(alarm.received_at),
                          joined != nullptr, alarm.school, alarm.drill, alarm.received_at};
        Unverified outcome{proposal.incident, proposal.joins};
        unverified_.emplace(alarm_key, std::move(proposal));
        return outcome;
    }
    if (joined != nullptr) {
        joined->last_alarm_at = std::max(joined->last_alarm_at, alarm.received_at);
        incident_by_alarm_[alarm_key] = joined->incident;
        remember(alarm_key, alarm.received_at);
        latest_by_terminal_[alarm.terminal] = {alarm.alarm_id, joined->incident};
        return RepeatAlarm{joined->incident};
    }
    std::string incident = ids_.next(alarm.received_at);
    open_by_school_.emplace(alarm.school, Open{incident, alarm.drill, alarm.received_at});
    open_ids_.insert(incident);
    incident_by_alarm_[alarm_key] = incident;
    remember(alarm_key, alarm.received_at);
    latest_by_terminal_[alarm.terminal] = {alarm.alarm_id, incident};
    return NewIncident{std::move(incident)};
}

AlarmTriage::Resolution AlarmTriage::resolve(const std::string& terminal,
                                             const std::string& alarm_id,
                                             const std::string& recorded, bool recorded_now) {
    const std::string alarm_key = key(terminal, alarm_id);
    auto it = unverified_.find(alarm_key);
    if (it == unverified_.end()) return Resolution::none;
    const Proposal proposal = std::move(it->second);
    unverified_.erase(it);
    incident_by_alarm_[alarm_key] = recorded;
    remember(alarm_key, proposal.received_at);
    if (recorded != proposal.incident) return Resolution::duplicate;
    if (!proposal.joins) {
        // Only this alarm's record (now or a retry's earlier one answered
        // `unavailable`) can have made an incident with a freshly issued id.
        open_by_school_.emplace(proposal.school,
                                Open{recorded, proposal.drill, proposal.received_at});
        open_ids_.insert(recorded);
        latest_by_terminal_[terminal] = {alarm_id, recorded};
        return Resolution::opened;
    }
    if (!recorded_now) return Resolution::duplicate;  // an older alarm of the same incident
    auto [first, last] = open_by_school_.equal_range(proposal.school);
    for (auto open = first; open != last; ++open) {
        if (open->second.incident == recorded) {
            open->second.last_alarm_at = std::max(open->second.last_alarm_at, proposal.received_at);
            break;
        }
    }
    latest_by_terminal_[terminal] = {alarm_id, recorded};
    return Resolution::joined;
}

void AlarmTriage::restore(const OpenIncident& incident) {
    open_by_school_.emplace(incident.school,
                            Open{incident.incident, incident.drill, incident.last_alarm_at});
    open_ids_.insert(incident.incident);
    for (const auto& [terminal, alarm_id] : incident.alarms) {
        incident_by_alarm_[key(terminal, alarm_id)] = incident.incident;
        remember(key(terminal, alarm_id), incident.last_alarm_at);
        latest_by_terminal_[terminal] = {alarm_id, incident.incident};  // in recorded order
    }
}

void AlarmTriage::restore(const OpenIncident& incident,
                          const std::vector<std::string>& terminals_with_older_alarms) {
    restore(incident);
    for (const auto& terminal : terminals_with_older_alarms) {
        unrestored_by_terminal_[terminal].push_back({incident.incident, incident.last_alarm_at});
    }
}

void AlarmTriage::close(const std::string& incident) {
    open_ids_.erase(incident);
    for (auto it = open_by_school_.begin(); it != open_by_school_.end(); ++it) {
        if (it->second.incident == incident) {
            open_by_school_.erase(it);
            return;
        }
    }
}

void AlarmTriage::correct(const std::string& terminal, const std::string& alarm_id,
                          const std::string& recorded) {
    incident_by_alarm_[key(terminal, alarm_id)] = recorded;
    auto latest = latest_by_terminal_.find(terminal);
    if (latest != latest_by_terminal_.end() && latest->second.alarm_id == alarm_id) {
        latest->second.incident = recorded;
    }
}

std::optional<std::string> AlarmTriage::latest_open_alarm(const std::string& terminal) const {
    auto it = latest_by_terminal_.find(terminal);
    if (it == latest_by_terminal_.end() || !open_ids_.count(it->second.incident)) {
        return std::nullopt;
    }
    return it->second.alarm_id;
}

std::optional<std::string> AlarmTriage::incident_of(const std::string& terminal,
                                                    const std::string& alarm_id) const {
    auto it = incident_by_alarm_.find(key(terminal, alarm_id));
    if (it == incident_by_alarm_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::string> AlarmTriage::proposal_of(const std::string& terminal,
                                                    const std::string& alarm_id) const {
    auto it = unverified_.find(key(terminal, alarm_id));
    if (it == unverified_.end()) return std::nullopt;
    return it->second.incident;
}

}  // namespace huxiao
