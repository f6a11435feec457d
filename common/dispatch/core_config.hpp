// The dispatch core's settings: the `dispatch` section of the configuration
// (contract §2) minus what intake uses (repeat_window_s). common/config parses
// and validates the file into huxiao::DispatchConfig; the shell copies the
// fields across (same names), so the core does not depend on the file format.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/geo/unit_router.hpp"

namespace huxiao::dispatch {

struct CoreConfig {
    int offer_timeout_s = 20;
    double arrival_radius_m = 150;
    double road_factor = 1.3;
    double speed_kmh = 40;
    int unit_stale_s = 120;
    // Units an alarm kind needs; kinds not listed need `units_required_default`.
    std::map<std::string, int, std::less<>> units_required{{"assault", 2}, {"intrusion", 2}};
    int units_required_default = 1;

    int units_required_for(std::string_view kind) const {
        auto it = units_required.find(kind);
        return it == units_required.end() ? units_required_default : it->second;
    }

    // Router options matching this configuration (guard-post clock: fixed offsets).
    geo::RouterOptions router_options() const {
        geo::RouterOptions o;
        o.eta = geo::EtaModel{road_factor, speed_kmh};
        o.stale_after = std::chrono::seconds{unit_stale_s};
        return o;
    }
};

}  // namespace huxiao::dispatch
