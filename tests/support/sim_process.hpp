// huxiao-sim as a child process for end-to-end tests, its stdout and stderr
// in a log file, stopped with SIGTERM (as tools/demo.sh does).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace huxiao::test {

class SimProcess {
  public:
    SimProcess(const std::vector<std::string>& args, const std::filesystem::path& log);
    ~SimProcess();
    SimProcess(const SimProcess&) = delete;
    SimProcess& operator=(const SimProcess&) = delete;
    // SIGTERM and wait: the exit status (-1 if it did not exit normally).
    int stop();

  private:
    pid_t pid_ = -1;
    int status_ = -1;
};

}  // namespace huxiao::test
