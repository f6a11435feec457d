// A leader that loses its lease starts over as a standby by executing itself
// again (same process id, same arguments, configuration read again): every
// piece of leader state — open incidents, sessions, queued writes that the
// database refused after the takeover — is dropped at once, and nothing of it
// can act after the new leader has taken over. systemd sees the same process.
#pragma once

#include <string>

namespace huxiao {

// Called once by main with the process' arguments.
void remember_arguments(int argc, char** argv);

// Closes every descriptor but stdin, stdout and stderr (listening sockets,
// database connections) and executes /proc/self/exe with the remembered
// arguments. Returns only if that fails (then the caller exits).
void restart_process(const std::string& why);

}  // namespace huxiao
