#include "server/app/console_hub.hpp"

#include <algorithm>

namespace huxiao {

bool ConsoleHub::sees(const Principal& who, const std::string& district) {
    if (who.role != "education") return true;
    // Default-deny: an unknown district, or a token without districts, shows nothing.
    if (district.empty()) return false;
    return std::find(who.districts.begin(), who.districts.end(), district) != who.districts.end();
}

void ConsoleHub::add(const Principal& who, std::shared_ptr<WsPeer> peer) {
    const WsPeer* raw = peer.get();
    consoles_.push_back({who, std::move(peer), raw, false, false, false, {}});
}

void ConsoleHub::remove(const WsPeer* peer) {
    std::erase_if(consoles_,
                  [peer](const Console& c) { return c.raw == peer || c.peer.expired(); });
}

void ConsoleHub::publish(const std::string& district, std::string text) {
    if (consoles_.empty()) return;
    const auto shared = std::make_shared<const std::string>(std::move(text));
    for (auto& c : consoles_) {
        if (!sees(c.who, district)) continue;
        if (c.snapshot_building) {
            c.held.push_back(shared);
        } else if (auto p = c.peer.lock()) {
            p->send(shared);
        }
    }
}

bool ConsoleHub::contains(const WsPeer* peer) const {
    return std::any_of(consoles_.begin(), consoles_.end(),
                       [peer](const Console& c) { return c.raw == peer; });
}

ConsoleHub::Console* ConsoleHub::find(const WsPeer* peer) {
    auto it = std::find_if(consoles_.begin(), consoles_.end(),
                           [peer](const Console& c) { return c.raw == peer; });
    return it == consoles_.end() ? nullptr : &*it;
}

bool ConsoleHub::begin_snapshot(const WsPeer* peer, bool with_schools) {
    Console* c = find(peer);
    if (c == nullptr) return false;  // closed (or revoked) meanwhile
    if (c->snapshot_building) {
        c->snapshot_wanted = true;
        c->wanted_with_schools = c->wanted_with_schools || with_schools;
        return false;
    }
    c->snapshot_building = true;
    return true;
}

std::optional<bool> ConsoleHub::end_snapshot(const WsPeer* peer) {
    Console* c = find(peer);
    if (c == nullptr) return std::nullopt;
    if (auto p = c->peer.lock()) {
        for (auto& text : c->held) p->send(std::move(text));
    }
    c->held.clear();
    c->snapshot_building = c->snapshot_wanted;
    c->snapshot_wanted = false;
    if (!c->snapshot_building) return std::nullopt;
    const bool with_schools = c->wanted_with_schools;
    c->wanted_with_schools = false;
    return with_schools;
}

std::size_t ConsoleHub::revoke(const std::string& name) {
    std::size_t n = 0;
    std::erase_if(consoles_, [&](const Console& c) {
        if (c.who.name != name) return false;
        if (auto p = c.peer.lock()) p->revoke();
        ++n;
        return true;
    });
    return n;
}

}  // namespace huxiao
