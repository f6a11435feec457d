// ConnectionBudget: how many connections a listener holds, counted apart
// before and after authentication, so that connections nobody has vouched for
// (no client certificate and hello yet, no valid token yet) can never take the
// places of real terminals, units and consoles. Before authentication there is
// a cap overall and a cap per source address; after it, the listener's
// max_connections. Pure bookkeeping: the shell (server/sessions/connection_gate)
// adds the lock, the metrics and the closing of refused sockets.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace huxiao {

struct ConnectionLimits {
    std::size_t max_unauthenticated = 1024;
    std::size_t max_unauthenticated_per_address = 64;
    std::size_t max_authenticated = 4096;
};

// Why a connection was refused; also the `cause` label of the refusal metric.
enum class Refusal {
    none,
    per_address,      // this source address holds max_unauthenticated_per_address already
    unauthenticated,  // the listener holds max_unauthenticated connections not yet authenticated
    max_connections,  // authenticated, but the listener is full of authenticated connections
};

const char* to_string(Refusal refusal);

class ConnectionBudget {
  public:
    explicit ConnectionBudget(ConnectionLimits limits) : limits_(limits) {}

    // A new connection from `address`: counted as unauthenticated unless refused.
    Refusal admit(const std::string& address);
    // An admitted connection proved who it is. On refusal it stays counted as
    // unauthenticated (the caller closes it and calls release).
    Refusal authenticate(const std::string& address);
    void release(const std::string& address, bool authenticated);

    std::size_t unauthenticated() const { return unauthenticated_; }
    std::size_t authenticated() const { return authenticated_; }
    std::size_t unauthenticated_from(const std::string& address) const;
    const ConnectionLimits& limits() const { return limits_; }

  private:
    ConnectionLimits limits_;
    std::size_t unauthenticated_ = 0;
    std::size_t authenticated_ = 0;
    std::unordered_map<std::string, std::size_t> by_address_;  // unauthenticated only
};

}  // namespace huxiao
