#include "server/base/process_metrics.hpp"

#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace huxiao {

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", value);
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + text + "\n";
}

// The fields of /proc/self/stat after the command name, which may itself
// hold spaces and parentheses: field 3 ("state") is the first one here.
std::optional<std::vector<std::string>> stat_fields() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 1));
    std::vector<std::string> fields;
    for (std::string f; rest >> f;) fields.push_back(f);
    return fields;
}

// Seconds since the epoch at which the system booted (/proc/stat "btime").
std::optional<double> boot_time() {
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
        if (key == "btime") {
            double seconds = 0;
            if (in >> seconds) return seconds;
            return std::nullopt;
        }
        in.ignore(1 << 16, '\n');
    }
    return std::nullopt;
}

}  // namespace

std::string render_process_metrics() {
    std::string out;
    const long page = ::sysconf(_SC_PAGESIZE);
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const auto fields = stat_fields();
    // Field n of stat(5) is fields[n - 3]: utime 14, stime 15, starttime 22,
    // vsize 23, rss 24.
    if (fields && fields->size() >= 22 && ticks > 0 && page > 0) {
        const auto& f = *fields;
        const double utime = std::stod(f[11]), stime = std::stod(f[12]);
        metric(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.",
               (utime + stime) / static_cast<double>(ticks));
        metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               std::stod(f[20]));
        metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               std::stod(f[21]) * static_cast<double>(page));
        if (const auto btime = boot_time()) {
            metric(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.",
                   *btime + std::stod(f[19]) / static_cast<double>(ticks));
        }
    }
    std::error_code ec;
    std::size_t open = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++open;
    }
    if (!ec) {
        metric(out, "process_open_fds", "gauge", "Number of open file descriptors.",
               static_cast<double>(open));
    }
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
               static_cast<double>(limit.rlim_cur));
    }
    return out;
}

}  // namespace huxiao
