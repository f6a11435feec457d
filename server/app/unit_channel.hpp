// /ws/unit (contract §4): a patrol unit's mobile terminal, authenticated by a
// token of role `unit` bound to one unit. Messages go to the Dispatcher as
// that unit; the unit id comes from the token, never from a message.
#pragma once

#include "server/app/dispatcher.hpp"
#include "server/app/ws_channel.hpp"

namespace huxiao {

class UnitChannel final : public WsChannel {
  public:
    explicit UnitChannel(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}

    bool allowed(const Principal& who) const override { return who.role == "unit" && who.unit; }
    void opened(const Principal& who, std::shared_ptr<WsPeer> peer) override {
        unit_ = *who.unit;
        peer_ = peer;
        dispatcher_.unit_connected(unit_, who.name, std::move(peer));
    }
    void message(const std::string& text) override {
        if (auto peer = peer_.lock()) dispatcher_.unit_message(unit_, text, peer);
    }
    void closed() override {
        if (auto peer = peer_.lock()) dispatcher_.unit_disconnected(unit_, peer);
    }

  private:
    Dispatcher& dispatcher_;
    std::string unit_;
    std::weak_ptr<WsPeer> peer_;
};

// /ws/console (contract §4): dispatchers steer, auditors and the education
// bureau watch. Commands from read-only roles are refused per command.
class ConsoleChannel final : public WsChannel {
  public:
    explicit ConsoleChannel(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}

    bool allowed(const Principal& who) const override {
        return who.is({"dispatcher", "auditor", "education", "admin", "inspector"});
    }
    void opened(const Principal& who, std::shared_ptr<WsPeer> peer) override {
        who_ = who;
        peer_ = peer;
        dispatcher_.console_opened(who, std::move(peer));
    }
    void message(const std::string& text) override {
        if (auto peer = peer_.lock()) dispatcher_.console_message(who_, text, peer);
    }
    void closed() override {
        if (auto peer = peer_.lock()) dispatcher_.console_closed(peer);
    }

  private:
    Dispatcher& dispatcher_;
    Principal who_;
    std::weak_ptr<WsPeer> peer_;
};

}  // namespace huxiao
