// What a panel's event means to huxiao (contract §9): Contact ID (SIA DC-05)
// and SIA (DC-03/DC-07) event codes mapped to an alarm kind, a cancel
// request, a test (supervision only), a restore, or a plain event that is
// recorded but not dispatched. The defaults follow the contract; config
// (`dc09_listener.kinds`) may override single codes. Pure: no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace huxiao::dc09 {

enum class Protocol { contact_id, sia };

// One event reported by a panel.
struct PanelEvent {
    Protocol protocol = Protocol::contact_id;
    // Contact ID: the event qualifier, '1' new event/opening, '3' restore/
    // closing, '6' previously reported. SIA: 'N' (new event).
    char qualifier = '1';
    std::string code;       // Contact ID "130"; SIA "BA"
    std::string partition;  // Contact ID group "01"; SIA area (ri) when given
    std::string zone;       // Contact ID zone or user "015"; SIA address "501"
};

enum class Meaning { alarm, cancel, test, restore, event };
std::string_view to_string(Meaning meaning);

struct Classification {
    Meaning meaning = Meaning::event;
    std::string kind;  // for alarms: one of the contract's alarm kinds
};

// Overrides: code → an alarm kind (contract §3 list) or one of "cancel",
// "test", "restore", "event". Contact ID overrides apply to new events
// (qualifier 1); restores (qualifier 3) stay restores.
struct CodeOverrides {
    std::map<std::string, std::string> contact_id;  // "151" → "fire"
    std::map<std::string, std::string> sia;         // "GA" → "other"
};

// Checks one override entry; an error message naming the problem, or nothing.
std::optional<std::string> check_override(Protocol protocol, std::string_view code,
                                          std::string_view meaning);

Classification classify(const PanelEvent& event, const CodeOverrides& overrides = {});

// A short human-readable description for notes and logs: "CID 1130 01 015".
std::string describe(const PanelEvent& event);

}  // namespace huxiao::dc09
