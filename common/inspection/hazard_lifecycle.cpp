#include "common/inspection/hazard_lifecycle.hpp"

namespace huxiao::inspection {

std::string_view to_string(HazardStatus s) {
    switch (s) {
        case HazardStatus::open:
            return "open";
        case HazardStatus::rectified:
            return "rectified";
        case HazardStatus::verified:
            return "verified";
    }
    return "open";
}

std::optional<HazardStatus> hazard_status(std::string_view s) {
    if (s == "open") return HazardStatus::open;
    if (s == "rectified") return HazardStatus::rectified;
    if (s == "verified") return HazardStatus::verified;
    return std::nullopt;
}

std::variant<HazardTransition, FieldError> apply(HazardStatus current, const HazardAction& action,
                                                 UnixMicros now) {
    if (const auto* r = std::get_if<Rectify>(&action)) {
        if (r->role != "education" && r->role != "inspector") {
            return FieldError{"role", "only education and inspector tokens report rectifications"};
        }
        if (current == HazardStatus::verified) {
            return FieldError{"status", "the hazard is verified (closed); nothing to rectify"};
        }
        if (current == HazardStatus::rectified) {
            return FieldError{"status", "the hazard is already rectified and awaits verification"};
        }
        return HazardTransition{"rectified", HazardStatus::rectified, std::nullopt};
    }
    const auto& v = std::get<Verify>(action);
    if (v.role != "inspector") {
        return FieldError{"role", "only an inspector verifies a rectification"};
    }
    if (current == HazardStatus::verified) {
        return FieldError{"status", "the hazard is already verified (closed)"};
    }
    if (current == HazardStatus::open) {
        return FieldError{"status", "the hazard is open: a rectification must be reported first"};
    }
    if (v.accepted) {
        if (v.new_deadline) {
            return FieldError{"deadline", "only a rejected verification sets a new deadline"};
        }
        return HazardTransition{"verification_accepted", HazardStatus::verified, std::nullopt};
    }
    if (v.new_deadline && *v.new_deadline <= now) {
        return FieldError{"deadline", "the new deadline must be in the future"};
    }
    return HazardTransition{"verification_rejected", HazardStatus::open, v.new_deadline};
}

bool is_overdue(HazardStatus s, UnixMicros deadline, UnixMicros now) {
    return s == HazardStatus::open && now > deadline;
}

}  // namespace huxiao::inspection
