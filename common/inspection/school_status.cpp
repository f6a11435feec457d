#include "common/inspection/school_status.hpp"

namespace huxiao::inspection {

bool is_critical_code(const std::string& code) {
    return code == "guards_staffed" || code == "gate_closed_management" || code == "alarm_linked";
}

SchoolStatus school_status(const SchoolSafetyFacts& f, UnixMicros as_of) {
    std::vector<std::string> red, amber;
    if (f.overdue_hazards > 0) {
        red.push_back(std::to_string(f.overdue_hazards) + " overdue hazard(s)");
    }
    for (const auto& item : f.auto_now) {
        if (item.code == "alarm_linked" && item.result == "fail") {
            red.push_back("alarm_linked fails now: " + item.reason);
        } else if (item.result == "fail") {
            amber.push_back(item.code + " fails now: " + item.reason);
        }
    }
    for (const auto& [code, result] : f.latest) {
        if (result != "fail") continue;
        if (is_critical_code(code)) {
            red.push_back(code + " failed at the latest inspection");
        } else {
            amber.push_back(code + " failed at the latest inspection");
        }
    }
    const int waiting = f.open_hazards - f.overdue_hazards;
    if (waiting > 0) amber.push_back(std::to_string(waiting) + " hazard(s) not yet verified");
    if (!f.last_inspection) {
        amber.push_back("never inspected");
    } else if (*f.last_inspection < as_of - kInspectionDue) {
        amber.push_back("not inspected in the last 180 days");
    }
    if (!red.empty()) {
        red.insert(red.end(), amber.begin(), amber.end());
        return {"red", std::move(red)};
    }
    if (!amber.empty()) return {"amber", std::move(amber)};
    return {"green", {}};
}

}  // namespace huxiao::inspection
