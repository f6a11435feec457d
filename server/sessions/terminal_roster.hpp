// TerminalRoster: the open sessions of each terminal id, so that one
// certificate cannot hold more than max_sessions_per_terminal connections
// (review M6: N sessions would multiply the per-connection frame rate). A
// further session replaces the oldest one rather than being refused: a
// terminal that reconnects after a network blip must not wait for its dead
// connection to time out.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace huxiao {

class TerminalSession;

class TerminalRoster {
  public:
    explicit TerminalRoster(std::size_t max_per_terminal) : max_(max_per_terminal) {}

    // Adds `session` for `terminal`; returns the older sessions it replaces.
    std::vector<std::shared_ptr<TerminalSession>> join(
        const std::string& terminal, const std::shared_ptr<TerminalSession>& session);
    void leave(const std::string& terminal, const TerminalSession* session);

  private:
    std::size_t max_;
    std::mutex mutex_;
    std::map<std::string, std::deque<std::weak_ptr<TerminalSession>>> sessions_;
};

}  // namespace huxiao
