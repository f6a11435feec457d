// Structured logging to stderr, one line per record, as JSON (for log
// shippers) or text (for people), chosen by the `log` config section.
#pragma once

#include <string>
#include <string_view>

namespace huxiao {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void configure_logging(std::string_view level, std::string_view format);

void log_at(LogLevel level, std::string_view component, std::string_view message);
inline void log_debug(std::string_view c, std::string_view m) { log_at(LogLevel::debug, c, m); }
inline void log_info(std::string_view c, std::string_view m) { log_at(LogLevel::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log_at(LogLevel::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log_at(LogLevel::error, c, m); }
bool log_enabled(LogLevel level);

}  // namespace huxiao
