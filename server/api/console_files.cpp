#include "server/api/console_files.hpp"

#include <algorithm>

namespace huxiao::api {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ConsoleLookup malformed(std::string reason) {
    return {ConsoleLookup::Outcome::malformed, nullptr, std::move(reason)};
}

}  // namespace

ConsoleLookup find_console_file(std::string_view target) {
    const std::string_view raw = target.substr(0, target.find('?'));
    if (raw.empty() || raw.front() != '/') return malformed("the path must start with /");
    if (raw.size() > 1024) return malformed("the path is too long");

    std::string path;
    path.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
            if (i + 2 >= raw.size()) return malformed("bad percent-encoding in the path");
            const int hi = hex_digit(raw[i + 1]), lo = hex_digit(raw[i + 2]);
            if (hi < 0 || lo < 0) return malformed("bad percent-encoding in the path");
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) return malformed("control character in the path");
        if (c == '\\') return malformed("backslash in the path");
        if (c == '#') return malformed("fragment in the path");
        path.push_back(c);
    }
    // Dot segments never name a console file; refuse them rather than resolve them.
    for (std::size_t begin = 1; begin <= path.size();) {
        std::size_t end = path.find('/', begin);
        if (end == std::string::npos) end = path.size();
        const std::string_view segment = std::string_view(path).substr(begin, end - begin);
        if (segment == "." || segment == "..") return malformed("dot segment in the path");
        begin = end + 1;
    }
    if (path == "/") path = "/index.html";

    const auto files = embedded_console_files();
    const auto it = std::find_if(files.begin(), files.end(),
                                 [&path](const ConsoleFile& f) { return f.path == path; });
    if (it == files.end()) return {ConsoleLookup::Outcome::not_found, nullptr, {}};
    return {ConsoleLookup::Outcome::found, &*it, {}};
}

}  // namespace huxiao::api
