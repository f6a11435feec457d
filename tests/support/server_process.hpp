// huxiaod as a child process for end-to-end tests: a config file written
// from a JSON value, the real binary started with `serve`, its port learnt
// from its stdout, and the ways a test ends it (SIGTERM, or kill -9).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/certs.hpp"

namespace huxiao::test {

// A complete config for a test server on loopback ports chosen by the kernel.
nlohmann::json test_config(const std::string& database_url, const CertFactory& certs);

class ServerProcess {
  public:
    // Writes `config` to `dir`/huxiao.json and starts `huxiaod serve`.
    // Throws (with the server's stderr) when it does not come up.
    // `max_open_files` > 0 sets RLIMIT_NOFILE (soft and hard) for the server.
    // `standby_ok`: a standby (contract §8) has no terminal listener; the
    // server counts as started once its API listener is up.
    ServerProcess(const nlohmann::json& config, const std::filesystem::path& dir,
                  int max_open_files = 0, bool standby_ok = false);
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    int terminal_port() const { return terminal_port_; }
    int api_port() const { return api_port_; }
    int dc09_port() const { return dc09_port_; }  // 0 unless dc09_listener is enabled
    pid_t pid() const { return pid_; }
    void kill_hard();         // SIGKILL, as a crash
    int terminate();          // SIGTERM; returns the exit status (-1 if it had to be killed)
    std::string log() const;  // what the server wrote to stderr

  private:
    void start();
    std::filesystem::path dir_;
    std::filesystem::path config_path_;
    pid_t pid_ = -1;
    int max_open_files_ = 0;
    bool standby_ok_ = false;
    int stdout_fd_ = -1;
    int terminal_port_ = 0;
    int api_port_ = 0;
    int dc09_port_ = 0;
};

// Runs `huxiaod ARGS...` to completion; returns exit status, stdout and stderr.
struct CommandResult {
    int status = -1;
    std::string out;
    std::string err;
};
CommandResult run_huxiaod(const std::vector<std::string>& args);

}  // namespace huxiao::test
