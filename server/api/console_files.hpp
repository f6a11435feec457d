// The web console's files, compiled into the binary from web/ at build time
// (server/api/embed_web.cmake). `GET` outside /api/ is answered from this
// table only, by exact path: no request can name a file of the machine
// (contract 1.1; issue #8 item 1). Nothing here reads the disk.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace huxiao::api {

struct ConsoleFile {
    std::string_view path;  // "/index.html", "/js/main.js", ...
    std::string_view content_type;
    std::string_view bytes;
};

// Every embedded file (generated).
std::span<const ConsoleFile> embedded_console_files();

// What a request target names among the console's files.
struct ConsoleLookup {
    enum class Outcome { found, not_found, malformed };
    Outcome outcome;
    const ConsoleFile* file = nullptr;  // set when found
    std::string reason;                 // why malformed, for the 400
};

// Resolves a request target (origin form, query ignored) to an embedded file.
// The path is percent-decoded strictly; NUL and other control characters,
// backslashes, bad escapes, "." and ".." segments are malformed (400).
// Anything else is looked up as it is ("/" is "/index.html"): a miss is 404.
ConsoleLookup find_console_file(std::string_view target);

}  // namespace huxiao::api
