#include "common/intake/terminal_supervisor.hpp"

#include <algorithm>

namespace huxiao {

void TerminalSupervisor::set_online(State& s, bool online) {
    if (s.online == online) return;
    s.online = online;
    if (online) {
        ++online_count_;
    } else {
        --online_count_;
    }
}

void TerminalSupervisor::assume_online(const std::string& terminal, UnixMicros since) {
    State& s = terminals_[terminal];
    set_online(s, true);
    s.last_seen = std::max(s.last_seen, since);
}

std::vector<TerminalSupervisor::Transition> TerminalSupervisor::session_opened(
    const std::string& terminal, UnixMicros now) {
    State& s = terminals_[terminal];
    ++s.sessions;
    s.last_seen = std::max(s.last_seen, now);
    if (s.online) return {};
    set_online(s, true);
    return {{terminal, true, now}};
}

void TerminalSupervisor::frame(const std::string& terminal, UnixMicros now) {
    State& s = terminals_[terminal];
    s.last_seen = std::max(s.last_seen, now);
}

void TerminalSupervisor::session_closed(const std::string& terminal, UnixMicros now) {
    State& s = terminals_[terminal];
    s.sessions = std::max(0, s.sessions - 1);
    s.last_seen = std::max(s.last_seen, now);
}

std::vector<TerminalSupervisor::Transition> TerminalSupervisor::heard_from(
    const std::string& terminal, UnixMicros now, UnixMicros window_us) {
    State& s = terminals_[terminal];
    s.last_seen = std::max(s.last_seen, now);
    s.window_us = window_us;
    if (s.online) return {};
    set_online(s, true);
    return {{terminal, true, now}};
}

std::vector<TerminalSupervisor::Transition> TerminalSupervisor::tick(UnixMicros now) {
    std::vector<Transition> out;
    for (auto& [id, s] : terminals_) {
        // An open session whose terminal went silent counts too: its socket
        // may be half-dead, and the session's own idle timer may not have
        // fired yet.
        if (s.online && now - s.last_seen > (s.window_us > 0 ? s.window_us : window_us_)) {
            set_online(s, false);
            out.push_back({id, false, s.last_seen});
        }
    }
    return out;
}

bool TerminalSupervisor::online(const std::string& terminal) const {
    auto it = terminals_.find(terminal);
    return it != terminals_.end() && it->second.online;
}

std::size_t TerminalSupervisor::online_count() const { return online_count_; }

UnixMicros TerminalSupervisor::last_seen(const std::string& terminal) const {
    auto it = terminals_.find(terminal);
    return it == terminals_.end() ? 0 : it->second.last_seen;
}

}  // namespace huxiao
