#include "common/dispatch/replay.hpp"

#include <algorithm>

namespace huxiao::dispatch {

namespace {

using nlohmann::json;

template <typename T>
T detail_or(const json& details, const char* key, T fallback) {
    if (!details.is_object()) return fallback;
    auto it = details.find(key);
    if (it == details.end() || it->is_null()) return fallback;
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        return fallback;  // a malformed detail must not stop the server from starting
    }
}

void pass(Incident& inc, const std::string& unit) {
    if (!inc.has_passed(unit)) inc.passed.push_back(unit);
}

void drop_offer(Incident& inc, const std::string& unit) {
    std::erase_if(inc.offers, [&](const Offer& o) { return o.unit == unit; });
}

void drop_assignment(Incident& inc, const std::string& unit) {
    std::erase_if(inc.assignments, [&](const Assignment& a) { return a.unit == unit; });
}

Assignment* active(Incident& inc, const std::string& unit) {
    for (Assignment& a : inc.assignments) {
        if (a.unit == unit && a.progress != UnitProgress::cleared) return &a;
    }
    return nullptr;
}

}  // namespace

std::optional<Incident> replay_incident(const IncidentHeader& header,
                                        std::span<const TimelineRecord> timeline,
                                        const CoreConfig& config) {
    Incident inc;
    inc.id = header.id;
    inc.school = header.school;
    inc.kind = header.kind;
    inc.drill = header.drill;
    inc.received_at = header.received_at;
    inc.places = std::max(1, config.units_required_for(header.kind));

    for (const TimelineRecord& r : timeline) {
        const std::optional<TimelineType> type = parse_timeline_type(r.type);
        if (!type) continue;
        switch (*type) {
            case TimelineType::offer_sent: {
                Offer o;
                o.unit = r.unit;
                o.seq = detail_or<std::uint64_t>(r.details, "seq", 0);
                o.sent_at = r.at;
                o.deadline = r.at + std::chrono::seconds{detail_or<int>(r.details, "expires_in_s",
                                                                        config.offer_timeout_s)};
                o.eta_s = detail_or<double>(r.details, "eta_s", 0);
                o.directed = detail_or<std::string>(r.details, "rank", "") == "console";
                if (detail_or<bool>(r.details, "reinforcement", false)) ++inc.places;
                drop_offer(inc, o.unit);
                inc.offers.push_back(o);
                if (static_cast<int>(inc.assignments.size() + inc.offers.size()) >= inc.places) {
                    inc.short_of_units = false;
                }
                break;
            }
            case TimelineType::offer_declined:
                if (detail_or<bool>(r.details, "after_accept", false)) {
                    drop_assignment(inc, r.unit);
                } else {
                    drop_offer(inc, r.unit);
                }
                pass(inc, r.unit);
                break;
            case TimelineType::offer_expired:
                drop_offer(inc, r.unit);
                pass(inc, r.unit);
                break;
            case TimelineType::unit_accepted: {
                const Offer* o = inc.offer_for(r.unit);
                Assignment a;
                a.unit = r.unit;
                a.accepted_at = r.at;
                a.eta_s = detail_or<double>(r.details, "eta_s", o ? o->eta_s : 0);
                drop_offer(inc, r.unit);
                drop_assignment(inc, r.unit);
                inc.assignments.push_back(a);
                if (r.details.is_object() && r.details.contains("withdrawn") &&
                    r.details["withdrawn"].is_array()) {
                    for (const json& w : r.details["withdrawn"]) {
                        if (w.is_string()) drop_offer(inc, w.get<std::string>());
                    }
                }
                break;
            }
            case TimelineType::unit_en_route:
                if (Assignment* a = active(inc, r.unit)) {
                    if (a->progress == UnitProgress::accepted) {
                        a->progress = UnitProgress::en_route;
                        a->en_route_at = r.at;
                    }
                }
                break;
            case TimelineType::unit_arrived:
                if (Assignment* a = active(inc, r.unit); a != nullptr && !a->arrived) {
                    a->arrived = true;
                    a->progress = UnitProgress::on_scene;
                    a->arrived_at = r.at;
                }
                break;
            case TimelineType::unit_cleared:
                if (Assignment* a = active(inc, r.unit)) {
                    if (a->arrived) {
                        a->progress = UnitProgress::cleared;
                        a->cleared_at = r.at;
                    } else {
                        drop_assignment(inc, r.unit);
                        pass(inc, r.unit);
                    }
                }
                break;
            case TimelineType::no_unit_available:
                inc.short_of_units = true;
                break;
            case TimelineType::console_acknowledged:
                inc.acknowledged = true;
                break;
            case TimelineType::resolved:
            case TimelineType::cancelled:
                return std::nullopt;
            case TimelineType::alarm_received:
            case TimelineType::repeat_alarm:
            case TimelineType::cancel_requested:
            case TimelineType::note:
                break;
        }
    }
    return inc;
}

}  // namespace huxiao::dispatch
