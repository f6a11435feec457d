#include "server/base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/util/time.hpp"

namespace huxiao {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<bool> g_json{false};
std::mutex g_mutex;

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "info";
}
}  // namespace

void configure_logging(std::string_view level, std::string_view format) {
    LogLevel l = LogLevel::info;
    if (level == "debug") l = LogLevel::debug;
    if (level == "warn") l = LogLevel::warn;
    if (level == "error") l = LogLevel::error;
    g_level = static_cast<int>(l);
    g_json = format == "json";
}

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void log_at(LogLevel level, std::string_view component, std::string_view message) {
    if (!log_enabled(level)) return;
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::string line;
    if (g_json) {
        nlohmann::json j = {{"ts", format_iso_millis(now)},
                            {"level", level_name(level)},
                            {"component", component},
                            {"msg", message}};
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        line = format_iso_millis(now) + " " + level_name(level) + " [" + std::string(component) +
               "] " + std::string(message);
    }
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace huxiao
