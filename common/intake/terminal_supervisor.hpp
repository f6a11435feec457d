// Terminal supervision (contract §3 heartbeats, issue: "offline terminals are
// noticed"): which school alarm terminals are really connected. A terminal is
// online from its hello until it has had no session and sent no frame for
// `missed_heartbeats` × `heartbeat_s`; a short reconnect in between is not an
// outage. Pure: time is passed in, transitions come out.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/util/time.hpp"

namespace huxiao {

class TerminalSupervisor {
  public:
    struct Transition {
        std::string terminal;
        bool online = false;
        UnixMicros at = 0;  // when it happened: the hello, or the last sign of life
    };

    TerminalSupervisor(int heartbeat_s, int missed_heartbeats)
        : window_us_(static_cast<UnixMicros>(heartbeat_s) * missed_heartbeats * kMicrosPerSecond) {}

    // At start: terminals the database last saw online. If they do not come
    // back within the window they go offline, as of `since`.
    void assume_online(const std::string& terminal, UnixMicros since);

    std::vector<Transition> session_opened(const std::string& terminal, UnixMicros now);
    void frame(const std::string& terminal, UnixMicros now);
    void session_closed(const std::string& terminal, UnixMicros now);
    // A sign of life from a terminal that keeps no session (a DC-09 panel
    // sends a message now and then, contract §9): online now if it was not,
    // offline after `window_us` of silence (0: the supervisor's window), like
    // a silent TLS terminal.
    std::vector<Transition> heard_from(const std::string& terminal, UnixMicros now,
                                       UnixMicros window_us = 0);
    // Call periodically: terminals silent for longer than the window go offline.
    std::vector<Transition> tick(UnixMicros now);

    bool online(const std::string& terminal) const;
    // Kept at every transition, not counted: the Dispatcher reads it on each
    // hello, and counting made a reconnect storm of n terminals O(n²)
    // (docs/performance.md §12.5).
    std::size_t online_count() const;
    UnixMicros last_seen(const std::string& terminal) const;

  private:
    struct State {
        bool online = false;
        int sessions = 0;
        UnixMicros last_seen = 0;
        UnixMicros window_us = 0;  // 0: window_us_
    };
    void set_online(State& s, bool online);

    UnixMicros window_us_;
    std::map<std::string, State> terminals_;
    std::size_t online_count_ = 0;
};

}  // namespace huxiao
