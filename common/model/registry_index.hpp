// An immutable, indexed snapshot of the registry for lookups on hot paths
// (which school does this terminal belong to, where is that school). The
// server swaps in a new snapshot when the registry changes.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/model/registry.hpp"

namespace huxiao {

class RegistryIndex {
  public:
    explicit RegistryIndex(Registry registry);
    // The maps point into registry_: a copy would point into the original.
    // Moving keeps the vectors' storage, so the pointers stay valid.
    RegistryIndex(const RegistryIndex&) = delete;
    RegistryIndex& operator=(const RegistryIndex&) = delete;
    RegistryIndex(RegistryIndex&&) = default;
    RegistryIndex& operator=(RegistryIndex&&) = default;

    const Registry& registry() const { return registry_; }
    const Terminal* terminal(const std::string& id) const { return find(terminals_, id); }
    const School* school(const std::string& id) const { return find(schools_, id); }
    const Unit* unit(const std::string& id) const { return find(units_, id); }
    const District* district(const std::string& id) const { return find(districts_, id); }
    // Terminals installed at a school (for status pushes).
    const std::vector<std::string>& terminals_of(const std::string& school) const;

  private:
    template <class T>
    static const T* find(const std::unordered_map<std::string, const T*>& map,
                         const std::string& id) {
        auto it = map.find(id);
        return it == map.end() ? nullptr : it->second;
    }

    Registry registry_;
    std::unordered_map<std::string, const Terminal*> terminals_;
    std::unordered_map<std::string, const School*> schools_;
    std::unordered_map<std::string, const Unit*> units_;
    std::unordered_map<std::string, const District*> districts_;
    std::unordered_map<std::string, std::vector<std::string>> terminals_by_school_;
};

using RegistrySnapshot = std::shared_ptr<const RegistryIndex>;

}  // namespace huxiao
