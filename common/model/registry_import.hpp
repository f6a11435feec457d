// Validation of a registry import file (contract §7). Every problem is
// reported with the record and the field, e.g.
//   schools[3] (id "S-4"): district "D-9" is neither in this file nor registered
// and nothing is imported unless the whole file is valid.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/model/registry.hpp"

namespace huxiao {

// Ids already in the database, which records of the file may refer to.
struct KnownIds {
    std::set<std::string> districts;
    std::set<std::string> schools;
    std::set<std::string> units;
};

struct RegistryParse {
    Registry registry;
    std::vector<std::string> errors;  // empty when valid
};

RegistryParse parse_registry(const std::string& json_text, const KnownIds& known);

// "mon-fri", "sat,sun", "mon,wed-fri", "daily" → bit 0 = Monday ... bit 6 = Sunday.
// Returns 0 for text it does not understand.
unsigned parse_weekdays(const std::string& text);

// "07:00-08:30" → [420, 510). Returns false for a malformed or empty window.
bool parse_window(const std::string& text, MinuteWindow& out);

}  // namespace huxiao
