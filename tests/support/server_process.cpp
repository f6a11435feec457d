#include "tests/support/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace huxiao::test {

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Waits for the child to exit for up to `timeout`; returns its status or -1.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || std::chrono::steady_clock::now() > until) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

nlohmann::json test_config(const std::string& database_url, const CertFactory& certs) {
    return {
        {"database", {{"url", database_url}, {"pool_size", 2}, {"alarm_commit_timeout_ms", 2000}}},
        {"terminal_listener",
         {{"address", "127.0.0.1"},
          {"port", 0},
          {"cert", certs.server_cert().string()},
          {"key", certs.server_key().string()},
          {"client_ca", certs.terminal_ca().string()},
          {"hello_timeout_s", 2}}},
        {"api_listener",
         {{"address", "127.0.0.1"},
          {"port", 0},
          {"cert", certs.server_cert().string()},
          {"key", certs.server_key().string()}}},
        // Tests insert positions with fixed dates in the past; the server's
        // retention pruning must not race them away.
        {"supervision", {{"position_retention_days", 3650}}},
        {"log", {{"level", "debug"}, {"format", "text"}}},
    };
}

ServerProcess::ServerProcess(const nlohmann::json& config, const std::filesystem::path& dir,
                             int max_open_files, bool standby_ok)
    : dir_(dir),
      config_path_(dir / "huxiao.json"),
      max_open_files_(max_open_files),
      standby_ok_(standby_ok) {
    std::filesystem::create_directories(dir_);
    std::ofstream(config_path_) << config.dump(2);
    start();
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0) kill_hard();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void ServerProcess::start() {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    const std::string err_path = (dir_ / "huxiaod.stderr").string();
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out[1], 1);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(err, 2);
        ::close(out[0]);
        if (max_open_files_ > 0) {
            const rlimit limit{static_cast<rlim_t>(max_open_files_),
                               static_cast<rlim_t>(max_open_files_)};
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
        ::execl(HUXIAOD_PATH, HUXIAOD_PATH, "serve", "--config", config_path_.c_str(), nullptr);
        ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
    // Read stdout until the listener line appears (or the process dies).
    std::string seen;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            char buf[512];
            const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
            if (n <= 0) break;
            seen.append(buf, static_cast<std::size_t>(n));
            const auto port_of = [&](const std::string& what) {
                const auto at = seen.find(what);
                const auto eol = at == std::string::npos ? at : seen.find('\n', at);
                if (eol == std::string::npos) return 0;
                const std::string line = seen.substr(at, eol - at);
                return std::stoi(line.substr(line.rfind(':') + 1));
            };
            terminal_port_ = port_of("terminal listener on ");
            api_port_ = port_of("api listener on ");
            dc09_port_ = port_of("dc09 listener on ");  // printed before the api line
            if (api_port_ && (terminal_port_ || standby_ok_)) return;
        }
    }
    const std::string stderr_text = log();
    kill_hard();
    throw std::runtime_error("huxiaod did not start; stderr:\n" + stderr_text);
}

void ServerProcess::kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(10));
    pid_ = -1;
}

int ServerProcess::terminate() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const int status = wait_exit(pid_, std::chrono::seconds(15));
    if (status == -1) {
        kill_hard();
        return -1;
    }
    pid_ = -1;
    return status;
}

std::string ServerProcess::log() const { return read_file(dir_ / "huxiaod.stderr"); }

CommandResult run_huxiaod(const std::vector<std::string>& args) {
    char out_tmpl[] = "/tmp/huxiaod-out-XXXXXX";
    char err_tmpl[] = "/tmp/huxiaod-err-XXXXXX";
    const int out = ::mkstemp(out_tmpl);
    const int err = ::mkstemp(err_tmpl);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out, 1);
        ::dup2(err, 2);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(HUXIAOD_PATH));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(HUXIAOD_PATH, argv.data());
        ::_exit(127);
    }
    ::close(out);
    ::close(err);
    CommandResult result;
    result.status = wait_exit(pid, std::chrono::seconds(60));
    result.out = read_file(out_tmpl);
    result.err = read_file(err_tmpl);
    ::unlink(out_tmpl);
    ::unlink(err_tmpl);
    return result;
}

}  // namespace huxiao::test
