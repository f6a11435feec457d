// What a reload of the configuration file (SIGHUP, or POST
// /api/v1/admin/reload) may change in a running server, and what only a
// restart can.
//
// Live: the TLS files of both listeners (a certificate is rotated without
// dropping a connected terminal) and the log level and format. Every other
// key is wired into long-lived parts at start (pools, listeners' sockets and
// limits, the dispatcher's timers); a reload that changes one applies the
// live keys and names the rest, so an operator is never left believing a
// value is in force when it is not.
#pragma once

#include <string>
#include <vector>

#include "common/config/config.hpp"

namespace huxiao {

// What a reload did (ConfigReloader in server/wiring; POST /api/v1/admin/reload answers with it).
struct ReloadOutcome {
    bool applied = false;
    std::string error;                          // why not, when not applied
    std::vector<std::string> applied_settings;  // e.g. "api_listener certificate: CN=..."
    std::vector<std::string> restart_required;  // config sections changed beyond live keys
};

// The sections of `file` that differ from `running` in keys a reload cannot
// apply, e.g. {"database", "dispatch"}; in the order of the config file.
std::vector<std::string> sections_needing_restart(const Config& running, const Config& file);

}  // namespace huxiao
