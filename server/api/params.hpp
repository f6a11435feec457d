// Parsing and validating query parameters; every failure throws BadParameter
// naming the parameter, which the router turns into a 400.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/util/time.hpp"
#include "server/api/api_router.hpp"

namespace huxiao::api {

using Query = std::map<std::string, std::string>;

inline std::optional<std::string> text(const Query& q, const std::string& name) {
    auto it = q.find(name);
    if (it == q.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

inline std::optional<UnixMicros> time(const Query& q, const std::string& name) {
    auto v = text(q, name);
    if (!v) return std::nullopt;
    auto t = parse_iso8601(*v);
    if (!t)
        throw BadParameter{name,
                           "\"" + *v + "\" is not an ISO-8601 time like 2026-09-01T00:00:00Z"};
    return t;
}

inline std::optional<bool> boolean(const Query& q, const std::string& name) {
    auto v = text(q, name);
    if (!v) return std::nullopt;
    if (*v == "true" || *v == "1") return true;
    if (*v == "false" || *v == "0") return false;
    throw BadParameter{name, "must be true or false"};
}

inline int integer(const Query& q, const std::string& name, int fallback, int min, int max) {
    auto v = text(q, name);
    if (!v) return fallback;
    try {
        std::size_t used = 0;
        const long long n = std::stoll(*v, &used);
        if (used == v->size() && n >= min && n <= max) return static_cast<int>(n);
    } catch (...) {
    }
    throw BadParameter{
        name, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max)};
}

inline std::optional<std::string> one_of(const Query& q, const std::string& name,
                                         std::initializer_list<const char*> allowed) {
    auto v = text(q, name);
    if (!v) return std::nullopt;
    std::string list;
    for (const char* a : allowed) {
        if (*v == a) return v;
        list += (list.empty() ? "" : ", ") + std::string(a);
    }
    throw BadParameter{name, "must be one of " + list};
}

// Rejects parameters the endpoint does not know (a typo must not be ignored).
inline void only(const Query& q, std::initializer_list<const char*> known) {
    for (const auto& [k, v] : q) {
        bool ok = false;
        for (const char* n : known) ok = ok || k == n;
        if (!ok) throw BadParameter{k, "unknown parameter"};
    }
}

}  // namespace huxiao::api
