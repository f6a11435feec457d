// A hazard's life (contract §10, "整改不到位不放过"): it is open until an
// inspector accepts its rectification. A small state machine: the API asks
// it whether an action is allowed before appending the event to the
// hazard's history (the database trigger enforces the same rule under
// concurrent requests). Pure; `now` is passed in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/inspection/checklist.hpp"
#include "common/util/time.hpp"

namespace huxiao::inspection {

enum class HazardStatus { open, rectified, verified };

std::string_view to_string(HazardStatus s);
std::optional<HazardStatus> hazard_status(std::string_view s);

struct Rectify {
    std::string role;  // of the caller: education or inspector
};
struct Verify {
    std::string role;  // must be inspector
    bool accepted = false;
    std::optional<UnixMicros> new_deadline;  // only when not accepted
};
using HazardAction = std::variant<Rectify, Verify>;

// What to append to the history when the action is allowed.
struct HazardTransition {
    std::string event;  // rectified | verification_accepted | verification_rejected
    HazardStatus to;
    std::optional<UnixMicros> deadline;  // the new deadline, when it changes
};

std::variant<HazardTransition, FieldError> apply(HazardStatus current, const HazardAction& action,
                                                 UnixMicros now);

// Overdue: still open after its deadline. A rectified hazard awaiting
// verification is not overdue; one sent back by a rejected verification is
// open again and counts against its (possibly new) deadline.
bool is_overdue(HazardStatus s, UnixMicros deadline, UnixMicros now);

}  // namespace huxiao::inspection
