#include "server/api/district_scope.hpp"

#include <nlohmann/json.hpp>

namespace huxiao::api {

std::string json_array(const std::vector<std::string>& ids) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& id : ids) array.push_back(id);
    return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<std::string> visible_districts_json(const Principal& who) {
    // inspector: "reads what an auditor reads" (contract §10).
    if (who.is({"admin", "dispatcher", "auditor", "inspector"})) return std::nullopt;
    return json_array(who.districts);
}

}  // namespace huxiao::api
