#include "server/sessions/connection_gate.hpp"

#include <boost/asio/error.hpp>
#include <cerrno>

namespace huxiao {

namespace {
constexpr std::array kTimeoutStages = {"handshake", "hello",   "header", "body",
                                       "idle",      "ws_auth", "waiting"};
constexpr std::array kAcceptErrors = {"emfile", "enfile", "other"};
constexpr std::array kRefusals = {Refusal::per_address, Refusal::unauthenticated,
                                  Refusal::max_connections};
}  // namespace

AcceptError classify_accept_error(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::no_descriptors) return AcceptError::emfile;
    if (ec == boost::system::error_code(ENFILE, boost::system::system_category()))
        return AcceptError::enfile;
    return AcceptError::other;
}

ConnectionGate::ConnectionGate(std::string listener, ConnectionLimits limits)
    : listener_(std::move(listener)), budget_(limits) {}

ConnectionGate::Slot::Slot(std::shared_ptr<ConnectionGate> gate, std::string address)
    : gate_(std::move(gate)), address_(std::move(address)) {}

ConnectionGate::Slot::~Slot() {
    {
        std::lock_guard lock(gate_->mutex_);
        gate_->budget_.release(address_, authenticated_);
    }
    if (!authenticated_) gate_->freed(false);
}

bool ConnectionGate::Slot::authenticate() {
    if (authenticated_) return true;
    Refusal r;
    {
        std::lock_guard lock(gate_->mutex_);
        r = gate_->budget_.authenticate(address_);
    }
    if (r != Refusal::none) {
        gate_->refuse(r);
        return false;
    }
    authenticated_ = true;
    gate_->freed(true);
    return true;
}

std::shared_ptr<ConnectionGate::Slot> ConnectionGate::admit(const std::string& address) {
    Refusal r = Refusal::none;
    auto slot = try_admit(address, &r);
    if (!slot) refuse(r);
    return slot;
}

std::shared_ptr<ConnectionGate::Slot> ConnectionGate::try_admit(const std::string& address,
                                                                Refusal* why) {
    Refusal r;
    {
        std::lock_guard lock(mutex_);
        r = budget_.admit(address);
    }
    if (why) *why = r;
    if (r != Refusal::none) return nullptr;
    return std::make_shared<Slot>(shared_from_this(), address);
}

void ConnectionGate::refuse(Refusal cause) {
    refused_[static_cast<std::size_t>(cause)].fetch_add(1, std::memory_order_relaxed);
}

void ConnectionGate::timed_out(TimeoutStage stage) {
    timed_out_[static_cast<std::size_t>(stage)].fetch_add(1, std::memory_order_relaxed);
}

void ConnectionGate::accept_failed(AcceptError error) {
    accept_errors_[static_cast<std::size_t>(error)].fetch_add(1, std::memory_order_relaxed);
}

std::size_t ConnectionGate::authenticated() const {
    std::lock_guard lock(mutex_);
    return budget_.authenticated();
}

std::size_t ConnectionGate::unauthenticated() const {
    std::lock_guard lock(mutex_);
    return budget_.unauthenticated();
}

std::uint64_t ConnectionGate::refused(Refusal cause) const {
    return refused_[static_cast<std::size_t>(cause)].load(std::memory_order_relaxed);
}

std::uint64_t ConnectionGate::accept_errors(AcceptError error) const {
    return accept_errors_[static_cast<std::size_t>(error)].load(std::memory_order_relaxed);
}

std::string render_connection_metrics(const std::vector<const ConnectionGate*>& gates) {
    std::string out;
    const auto line = [&](const char* family, const ConnectionGate& g, const char* label,
                          const char* value, std::uint64_t n) {
        out += std::string(family) + "{listener=\"" + g.listener() + "\"," + label + "=\"" + value +
               "\"} " + std::to_string(n) + "\n";
    };
    out +=
        "# HELP huxiao_connections_refused_total Connections closed at once because a "
        "connection budget was full.\n# TYPE huxiao_connections_refused_total counter\n";
    for (const auto* g : gates) {
        for (Refusal r : kRefusals) {
            line("huxiao_connections_refused_total", *g, "cause", to_string(r), g->refused(r));
        }
    }
    out +=
        "# HELP huxiao_connections_timed_out_total Connections closed because a stage before or "
        "between requests took too long.\n# TYPE huxiao_connections_timed_out_total counter\n";
    for (const auto* g : gates) {
        for (std::size_t i = 0; i < kTimeoutStages.size(); ++i) {
            line("huxiao_connections_timed_out_total", *g, "stage", kTimeoutStages[i],
                 g->timed_out_[i].load(std::memory_order_relaxed));
        }
    }
    out +=
        "# HELP huxiao_accept_errors_total Failed accept() calls (the accept loop backs off on "
        "emfile/enfile).\n# TYPE huxiao_accept_errors_total counter\n";
    for (const auto* g : gates) {
        for (std::size_t i = 0; i < kAcceptErrors.size(); ++i) {
            line("huxiao_accept_errors_total", *g, "cause", kAcceptErrors[i],
                 g->accept_errors_[i].load(std::memory_order_relaxed));
        }
    }
    out +=
        "# HELP huxiao_connections Open connections by authentication state.\n"
        "# TYPE huxiao_connections gauge\n";
    for (const auto* g : gates) {
        line("huxiao_connections", *g, "state", "authenticated", g->authenticated());
        line("huxiao_connections", *g, "state", "unauthenticated", g->unauthenticated());
        line("huxiao_connections", *g, "state", "waiting", g->waiting());
    }
    out +=
        "# HELP huxiao_connections_waited_total Connections that waited for a place before their "
        "handshake (terminal listener's waiting room).\n"
        "# TYPE huxiao_connections_waited_total counter\n";
    for (const auto* g : gates) {
        out += "huxiao_connections_waited_total{listener=\"" + g->listener() + "\"} " +
               std::to_string(g->waited_total()) + "\n";
    }
    return out;
}

}  // namespace huxiao
