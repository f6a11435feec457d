// The school-safety status of the report (contract §10): green, amber or red
// by the rules written in docs/inspections.md, with the reasons that decided
// it so that a reader can check the colour. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/inspection/auto_items.hpp"

namespace huxiao::inspection {

struct SchoolSafetyFacts {
    // The latest answer to each checklist code: the inspector's result, or for
    // an auto code the live value when the inspector did not answer it.
    std::map<std::string, std::string> latest;
    std::optional<UnixMicros> last_inspection;
    int open_hazards = 0;            // open or rectified (not yet verified)
    int overdue_hazards = 0;         // open past their deadline
    std::vector<AutoItem> auto_now;  // the auto items as of the report's as_of
};

// A school not inspected for this long is amber.
inline constexpr UnixMicros kInspectionDue = 180 * kDay;
// Codes whose failure means the school cannot protect or call for help now.
bool is_critical_code(const std::string& code);

struct SchoolStatus {
    std::string status;  // green | amber | red
    std::vector<std::string> reasons;
};

SchoolStatus school_status(const SchoolSafetyFacts& facts, UnixMicros as_of);

}  // namespace huxiao::inspection
