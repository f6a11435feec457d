#include "server/wiring/process_restart.hpp"

#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "server/base/log.hpp"

namespace huxiao {

namespace {
std::vector<std::string>& arguments() {
    static std::vector<std::string> args;
    return args;
}
}  // namespace

void remember_arguments(int argc, char** argv) { arguments().assign(argv, argv + argc); }

void restart_process(const std::string& why) {
    log_warn("server", "restarting as a standby: " + why);
    std::cout.flush();
    std::cerr.flush();
    std::vector<char*> argv;
    for (auto& a : arguments()) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (argv.size() < 2) {
        log_error("server", "cannot restart: the process' arguments were not remembered");
        return;
    }
    // Descriptors opened without O_CLOEXEC (Asio's sockets) must not leak
    // into the new image: the listening ports would stay bound.
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    // The signal mask survives exec, and the calling thread may be one that
    // blocks every signal (Asio's pools do): SIGTERM must reach the new image.
    sigset_t none;
    ::sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    ::execv("/proc/self/exe", argv.data());
    // Only reached on failure; logging's own descriptors are 1 and 2.
    log_error("server", std::string("cannot restart: execv: ") + std::strerror(errno));
}

}  // namespace huxiao
