// Readiness and liveness for a service manager (systemd's Type=notify and
// WatchdogSec=, see packaging/huxiaod.service). systemd's notification
// protocol is one datagram per message to the AF_UNIX socket named in
// $NOTIFY_SOCKET; it is small and documented as stable, so it is spoken here
// directly instead of linking libsystemd. Outside systemd ($NOTIFY_SOCKET
// unset) every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace huxiao {

// Sends one state message ("READY=1", "STOPPING=1", "WATCHDOG=1",
// "STATUS=…"). Returns false when there is no socket to tell or the send
// failed; callers only log that, a service manager is optional.
bool notify_service_manager(std::string_view state);

// How often the watchdog wants a "WATCHDOG=1": half of $WATCHDOG_USEC, as
// systemd recommends; nothing when the watchdog is off or meant for another
// process ($WATCHDOG_PID).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace huxiao
