// ConnectionGate: a listener's ConnectionBudget shared by its accept loop and
// its sessions (any thread), with the counters /metrics shows:
//   huxiao_connections_refused_total{listener,cause}   per_address | unauthenticated |
//   max_connections huxiao_connections_timed_out_total{listener,stage} handshake | hello | header |
//   body | idle | ws_auth | waiting huxiao_accept_errors_total{listener,cause}  emfile | enfile |
//   other huxiao_connections{listener,state}  authenticated | unauthenticated | waiting
//   huxiao_connections_waited_total{listener}  connections that waited for a place
// A Slot is one admitted connection; it gives its place back when destroyed.
#pragma once

#include <array>
#include <atomic>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/util/connection_budget.hpp"

namespace huxiao {

enum class TimeoutStage { handshake, hello, header, body, idle, ws_auth, waiting, count_ };
enum class AcceptError { emfile, enfile, other, count_ };

class ConnectionGate : public std::enable_shared_from_this<ConnectionGate> {
  public:
    ConnectionGate(std::string listener, ConnectionLimits limits);

    class Slot {
      public:
        Slot(std::shared_ptr<ConnectionGate> gate, std::string address);
        ~Slot();
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        // Moves the connection into the authenticated budget; false (and the
        // refusal counted) when that is full. Idempotent.
        bool authenticate();
        bool authenticated() const { return authenticated_; }
        const std::string& address() const { return address_; }
        void timed_out(TimeoutStage stage) { gate_->timed_out(stage); }

      private:
        std::shared_ptr<ConnectionGate> gate_;
        std::string address_;
        bool authenticated_ = false;
    };

    // A slot for a new connection from `address`, or null (refusal counted).
    std::shared_ptr<Slot> admit(const std::string& address);
    // The same without counting a refusal; `why` tells it.
    std::shared_ptr<Slot> try_admit(const std::string& address, Refusal* why = nullptr);
    void refuse(Refusal cause);
    // Called (on the thread that freed it, no lock held) whenever a place
    // before authentication frees: `true` when its connection authenticated,
    // `false` when it closed. Set once, before the first admit.
    void on_freed(std::function<void(bool)> f) { on_freed_ = std::move(f); }
    // The listener's waiting room (WaitingRoom), for /metrics.
    void set_waiting(std::size_t n) { waiting_.store(n, std::memory_order_relaxed); }
    void waited() { waited_.fetch_add(1, std::memory_order_relaxed); }
    std::size_t waiting() const { return waiting_.load(std::memory_order_relaxed); }
    std::uint64_t waited_total() const { return waited_.load(std::memory_order_relaxed); }
    void timed_out(TimeoutStage stage);
    void accept_failed(AcceptError error);

    std::size_t authenticated() const;
    std::size_t unauthenticated() const;
    std::uint64_t refused(Refusal cause) const;
    std::uint64_t accept_errors(AcceptError error) const;
    const std::string& listener() const { return listener_; }

  private:
    friend std::string render_connection_metrics(const std::vector<const ConnectionGate*>& gates);
    void freed(bool authenticated) {
        if (on_freed_) on_freed_(authenticated);
    }
    std::string listener_;
    std::function<void(bool)> on_freed_;
    std::atomic<std::size_t> waiting_{0};
    std::atomic<std::uint64_t> waited_{0};
    mutable std::mutex mutex_;
    ConnectionBudget budget_;
    std::array<std::atomic<std::uint64_t>, 4> refused_{};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(TimeoutStage::count_)>
        timed_out_{};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(AcceptError::count_)>
        accept_errors_{};
};

// What an accept error means for the loop: out of descriptors (back off) or not.
AcceptError classify_accept_error(const boost::system::error_code& ec);

// Renders the counters of several gates with one HELP/TYPE header per family.
std::string render_connection_metrics(const std::vector<const ConnectionGate*>& gates);

}  // namespace huxiao
