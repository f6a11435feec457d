#include "common/model/registry_index.hpp"

namespace huxiao {

RegistryIndex::RegistryIndex(Registry registry) : registry_(std::move(registry)) {
    for (const auto& t : registry_.terminals) {
        terminals_[t.id] = &t;
        terminals_by_school_[t.school].push_back(t.id);
    }
    for (const auto& s : registry_.schools) schools_[s.id] = &s;
    for (const auto& u : registry_.units) units_[u.id] = &u;
    for (const auto& d : registry_.districts) districts_[d.id] = &d;
}

const std::vector<std::string>& RegistryIndex::terminals_of(const std::string& school) const {
    static const std::vector<std::string> none;
    auto it = terminals_by_school_.find(school);
    return it == terminals_by_school_.end() ? none : it->second;
}

}  // namespace huxiao
