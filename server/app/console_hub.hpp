// ConsoleHub: the open dispatch consoles (/ws/console) and who may see what.
// Every message to consoles goes through publish(), which decides in this one
// place, by the district the message is about, which consoles get it: roles
// other than `education` see everything; an education token sees only its own
// districts, and a message whose district is unknown ("" — a school or
// terminal missing from the registry) goes to no education console
// (default-deny, contract 1.1). Each message is encoded once and shared by
// every console that gets it.
//
// Not thread-safe: it lives on the dispatcher's strand.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/app/auth.hpp"
#include "server/app/ws_channel.hpp"

namespace huxiao {

class ConsoleHub {
  public:
    // May `who` see what happens in `district` ("" = unknown district)?
    static bool sees(const Principal& who, const std::string& district);

    void add(const Principal& who, std::shared_ptr<WsPeer> peer);
    void remove(const WsPeer* peer);
    bool empty() const { return consoles_.empty(); }
    // Still open (neither closed nor revoked)?
    bool contains(const WsPeer* peer) const;

    // To every console that may see `district`.
    void publish(const std::string& district, std::string text);

    // Snapshot requests are coalesced: at most one is being built per console.
    // begin_snapshot() says whether to build one now (false: one is under way,
    // and one more will follow it). A snapshot is encoded off the strand, so
    // messages published while it is built are held back and sent after it
    // (a console must never see an event older than the snapshot that follows
    // it). end_snapshot(), once the snapshot is sent, sends them and says
    // whether requests came in meanwhile, so that exactly one more is built.
    bool begin_snapshot(const WsPeer* peer, bool with_schools);
    // Nothing: no more requests; else build one more, with schools if any of
    // the requests it answers wanted them.
    std::optional<bool> end_snapshot(const WsPeer* peer);

    // Revocation: closes (WebSocket 4001 `revoked`) and forgets every console
    // opened with the token `name`. Returns how many.
    std::size_t revoke(const std::string& name);

  private:
    struct Console {
        Principal who;
        std::weak_ptr<WsPeer> peer;
        const WsPeer* raw = nullptr;
        bool snapshot_building = false;
        bool snapshot_wanted = false;
        bool wanted_with_schools = false;
        std::vector<std::shared_ptr<const std::string>> held;  // while a snapshot is built
    };
    Console* find(const WsPeer* peer);

    std::vector<Console> consoles_;
};

}  // namespace huxiao
