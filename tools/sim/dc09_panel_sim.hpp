// One simulated SIA DC-09 alarm panel (contract §9), as installed in schools
// that kept their old equipment: UDP to huxiaod's dc09_listener, a NULL link
// test every few seconds, and alarms as Contact ID (encrypted panels, AES key
// from the registry) or SIA codes (plain panels), sent again until ACKed.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string>

#include "common/model/registry.hpp"
#include "tools/sim/sim.hpp"

namespace huxiao::sim {

class Dc09PanelSim {
  public:
    Dc09PanelSim(SimContext& ctx, const Terminal& terminal, asio::ip::udp::endpoint server,
                 int link_test_s);

    const std::string& id() const { return id_; }
    bool online() const { return online_; }
    bool encrypted() const { return !key_.empty(); }

    void start();
    void stop();
    // DC-09 knows no drills and fewer kinds than huxiao: the closest code is sent.
    void raise_alarm(const std::string& kind, bool drill, const std::string& note);

  private:
    struct Pending {
        std::string kind;
        std::string data;  // the data block, e.g. "#1234|1120 01 001"
        std::string frame;
        int attempts = 0;
    };

    std::string next_sequence();
    std::string frame(const std::string& id, const std::string& sequence, const std::string& data);
    void send(const std::string& frame);
    void receive();
    void on_answer(const std::string& answer);
    void link_test();
    void resend_pending();

    SimContext& ctx_;
    std::string id_;
    Dc09Identity identity_;
    std::string key_;  // raw AES key bytes; empty for a plain panel
    asio::ip::udp::endpoint server_;
    asio::ip::udp::socket socket_;
    asio::steady_timer link_timer_;
    asio::steady_timer retry_timer_;
    int link_test_s_;
    int sequence_ = 0;
    bool online_ = false;
    int unanswered_link_tests_ = 0;
    std::string last_link_sequence_;
    std::optional<std::pair<std::string, Pending>> pending_;  // sequence → the alarm
    char buffer_[2048];
    bool stopped_ = false;
};

}  // namespace huxiao::sim
