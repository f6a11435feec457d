// Holds the current registry snapshot; readers take a shared_ptr copy and
// keep using it while a refresh swaps in the next one.
#pragma once

#include <mutex>

#include "common/model/registry_index.hpp"

namespace huxiao {

class RegistryHolder {
  public:
    explicit RegistryHolder(Registry registry)
        : current_(std::make_shared<const RegistryIndex>(std::move(registry))) {}

    RegistrySnapshot get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void replace(Registry registry) {
        auto next = std::make_shared<const RegistryIndex>(std::move(registry));
        std::lock_guard lock(mutex_);
        current_ = std::move(next);
    }

  private:
    mutable std::mutex mutex_;
    RegistrySnapshot current_;
};

}  // namespace huxiao
