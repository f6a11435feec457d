#include "common/protocol/dc09_codes.hpp"

#include <array>

namespace huxiao::dc09 {

namespace {

constexpr std::array<std::string_view, 9> kAlarmKinds = {"intrusion", "assault",  "medical",
                                                         "fire",      "bullying", "self_harm",
                                                         "drowning",  "traffic",  "other"};

bool is_alarm_kind(std::string_view kind) {
    for (const auto k : kAlarmKinds) {
        if (k == kind) return true;
    }
    return false;
}

std::optional<Classification> from_override(std::string_view meaning) {
    if (is_alarm_kind(meaning)) return Classification{Meaning::alarm, std::string(meaning)};
    if (meaning == "cancel") return Classification{Meaning::cancel, {}};
    if (meaning == "test") return Classification{Meaning::test, {}};
    if (meaning == "restore") return Classification{Meaning::restore, {}};
    if (meaning == "event") return Classification{Meaning::event, {}};
    return std::nullopt;
}

bool all_digits(std::string_view s) {
    for (const char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return !s.empty();
}

Classification classify_contact_id(const PanelEvent& event, const CodeOverrides& overrides) {
    if (event.qualifier == '3') return {Meaning::restore, {}};
    if (event.qualifier != '1') return {Meaning::event, {}};  // '6': status, already reported
    if (auto it = overrides.contact_id.find(event.code); it != overrides.contact_id.end()) {
        if (auto c = from_override(it->second)) return *c;
    }
    if (!all_digits(event.code) || event.code.size() != 3) return {Meaning::event, {}};
    const int code = std::stoi(event.code);
    if (code >= 100 && code <= 109) return {Meaning::alarm, "medical"};
    if (code >= 110 && code <= 119) return {Meaning::alarm, "fire"};
    if (code >= 120 && code <= 129) return {Meaning::alarm, "assault"};
    if (code >= 130 && code <= 139) return {Meaning::alarm, "intrusion"};
    if (code >= 140 && code <= 199) return {Meaning::alarm, "other"};
    if (code == 406) return {Meaning::cancel, {}};
    if (code >= 601 && code <= 603) return {Meaning::test, {}};
    return {Meaning::event, {}};
}

Classification classify_sia(const PanelEvent& event, const CodeOverrides& overrides) {
    if (auto it = overrides.sia.find(event.code); it != overrides.sia.end()) {
        if (auto c = from_override(it->second)) return *c;
    }
    const std::string& code = event.code;
    if (code == "PA" || code == "HA") return {Meaning::alarm, "assault"};
    if (code == "FA") return {Meaning::alarm, "fire"};
    if (code == "MA") return {Meaning::alarm, "medical"};
    if (code == "BA") return {Meaning::alarm, "intrusion"};
    if (code == "RP" || code == "TX") return {Meaning::test, {}};
    if (code == "OC" || code == "BC") return {Meaning::cancel, {}};
    // The other alarm codes of SIA DC-03 (gas, heat, emergency, sprinkler,
    // tamper, untyped zone, water, freeze) and their restores.
    static constexpr std::string_view kOtherAlarms = "GKQSTUWZ";
    if (code.size() == 2 && kOtherAlarms.find(code[0]) != std::string_view::npos) {
        if (code[1] == 'A') return {Meaning::alarm, "other"};
        if (code[1] == 'R') return {Meaning::restore, {}};
    }
    static constexpr std::string_view kRestorable = "BFHMP";
    if (code.size() == 2 && code[1] == 'R' && kRestorable.find(code[0]) != std::string_view::npos) {
        return {Meaning::restore, {}};
    }
    return {Meaning::event, {}};
}

}  // namespace

std::string_view to_string(Meaning meaning) {
    switch (meaning) {
        case Meaning::alarm:
            return "alarm";
        case Meaning::cancel:
            return "cancel";
        case Meaning::test:
            return "test";
        case Meaning::restore:
            return "restore";
        case Meaning::event:
            return "event";
    }
    return "event";
}

std::optional<std::string> check_override(Protocol protocol, std::string_view code,
                                          std::string_view meaning) {
    if (protocol == Protocol::contact_id) {
        if (code.size() != 3 || !all_digits(code)) {
            return "Contact ID codes are three digits, not \"" + std::string(code) + "\"";
        }
    } else if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' ||
               code[1] > 'Z') {
        return "SIA codes are two upper-case letters, not \"" + std::string(code) + "\"";
    }
    if (!from_override(meaning)) {
        return "\"" + std::string(meaning) +
               "\" is not an alarm kind or one of cancel, test, restore, event";
    }
    return std::nullopt;
}

Classification classify(const PanelEvent& event, const CodeOverrides& overrides) {
    return event.protocol == Protocol::contact_id ? classify_contact_id(event, overrides)
                                                  : classify_sia(event, overrides);
}

std::string describe(const PanelEvent& event) {
    if (event.protocol == Protocol::contact_id) {
        return "CID " + std::string(1, event.qualifier) + event.code + " " + event.partition + " " +
               event.zone;
    }
    std::string text = "SIA " + event.code;
    if (!event.zone.empty()) text += " " + event.zone;
    if (!event.partition.empty()) text += " area " + event.partition;
    return text;
}

}  // namespace huxiao::dc09
