// Typed values from server/db/*_queries into the contract's JSON: an absent
// value is JSON null.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

namespace huxiao::api {

template <class T>
nlohmann::json or_null(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace huxiao::api
