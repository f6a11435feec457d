// The protocol half of a WebSocket session (contract §4): what a unit or a
// console says and what it is sent. WsSession owns the socket and calls a
// channel with each authenticated message; the channel answers through its
// WsPeer. Channels are independent of Beast so their logic stays readable.
#pragma once

#include <memory>
#include <string>

#include "server/app/auth.hpp"

namespace huxiao {

class WsPeer {
  public:
    virtual ~WsPeer() = default;
    // Thread-safe. A message fanned out to many peers is one shared buffer.
    virtual void send(std::shared_ptr<const std::string> text) = 0;
    void send(std::string text) { send(std::make_shared<const std::string>(std::move(text))); }
    virtual void close() = 0;  // thread-safe: flush, then close
    // Thread-safe: the token (or the unit it stands for) was revoked. Nothing
    // more is read from the peer; it is closed with 4001 `revoked` (contract 1.1).
    virtual void revoke() = 0;
};

class WsChannel {
  public:
    virtual ~WsChannel() = default;
    // Who may use this channel; others are refused with `forbidden`.
    virtual bool allowed(const Principal& who) const = 0;
    virtual void opened(const Principal& who, std::shared_ptr<WsPeer> peer) = 0;
    virtual void message(const std::string& text) = 0;
    virtual void closed() = 0;
};

}  // namespace huxiao
