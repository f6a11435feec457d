// What the rest of the server may do with a connected school terminal:
// send it a frame, or end its session. Implemented by TerminalSession; thread-safe.
#pragma once

#include <string>

namespace huxiao {

class TerminalPort {
  public:
    virtual ~TerminalPort() = default;
    virtual void send(std::string frame) = 0;
    virtual const std::string& terminal_id() const = 0;
    // The terminal was disabled, removed or moved to another school: it is
    // told `unknown_terminal` and closed (contract 1.1).
    virtual void revoke() = 0;
};

}  // namespace huxiao
