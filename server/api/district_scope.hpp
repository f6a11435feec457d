// Which districts an HTTP caller may see (contract 1.1): default-deny. Only
// admin, dispatcher, auditor and inspector (§10) see every district; any other role (education)
// sees exactly the districts on its token, and a token with none sees nothing
// (never everything). The list goes to PostgreSQL as a JSON array parameter,
// not as a hand-built array literal, so no district id can widen it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/app/auth.hpp"

namespace huxiao::api {

// nullopt: no limit. Otherwise a JSON array of district ids ("[]" = none).
std::optional<std::string> visible_districts_json(const Principal& who);

// ["D-1","D-2"]: a list of ids as a JSON array parameter.
std::string json_array(const std::vector<std::string>& ids);

}  // namespace huxiao::api
