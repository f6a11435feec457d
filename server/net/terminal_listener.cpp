#include "server/net/terminal_listener.hpp"

#include <algorithm>
#include <boost/asio/strand.hpp>
#include <stdexcept>

#include "server/base/log.hpp"
#include "server/sessions/terminal_roster.hpp"

namespace huxiao::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Long enough for sessions to end and give descriptors back, short enough
// that a real terminal waits no longer than one TCP retransmission.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(200);
// How often waiting connections whose wait ran out are looked for when no
// place frees (a freed place looks at once).
constexpr auto kSweepEvery = std::chrono::milliseconds(250);
// Handshakes at once however slowly they have been finishing (and before
// any has).
constexpr std::size_t kMinInFlight = 256;

WaitingLimits waiting_limits(const TerminalListenerConfig& t) {
    return WaitingLimits{static_cast<std::size_t>(t.max_waiting),
                         static_cast<std::size_t>(t.max_waiting_per_address),
                         std::chrono::seconds(t.handshake_timeout_s)};
}
}  // namespace

TerminalListener::TerminalListener(asio::any_io_executor executor, asio::ssl::context tls,
                                   TerminalSessionContext context)
    : executor_(executor),
      tls_(std::move(tls)),
      context_(context),
      acceptor_(executor),
      backoff_(executor),
      waiting_(waiting_limits(context_.config.terminal_listener)),
      sweep_strand_(asio::make_strand(executor)),
      sweep_(sweep_strand_) {
    const auto& t = context_.config.terminal_listener;
    gate_ = std::make_shared<ConnectionGate>(
        "terminal", ConnectionLimits{static_cast<std::size_t>(t.max_unauthenticated),
                                     static_cast<std::size_t>(t.max_unauthenticated_per_address),
                                     static_cast<std::size_t>(t.max_connections)});
    roster_ =
        std::make_shared<TerminalRoster>(static_cast<std::size_t>(t.max_sessions_per_terminal));
}

void TerminalListener::open(const std::string& address, int port) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec)
        throw std::runtime_error("terminal_listener.address: \"" + address +
                                 "\" is not an IP address");
    const tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep, ec);
    if (ec) {
        throw std::runtime_error("terminal_listener: cannot bind " + address + ":" +
                                 std::to_string(port) + ": " + ec.message());
    }
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void TerminalListener::start() {
    std::weak_ptr<TerminalListener> weak = shared_from_this();
    gate_->on_freed([weak](bool authenticated) {
        if (auto self = weak.lock()) {
            if (authenticated) {
                std::lock_guard lock(self->waiting_mutex_);
                self->drained_.freed(WaitClock::now());
            }
            self->drain();
        }
    });
    accept();
    asio::post(sweep_strand_, [self = shared_from_this()] { self->sweep(); });
}

void TerminalListener::sweep() {
    drain();
    sweep_.expires_after(kSweepEvery);
    sweep_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->sweep();
    });
}

std::size_t TerminalListener::in_flight_limit(WaitClock::time_point now) {
    // As many handshakes at once as finish in half of handshake_timeout_s at
    // the rate they have been finishing (Little's law), at least
    // kMinInFlight, at most the budget: more at once only makes each slower,
    // until they run past their deadline and the work is lost (§12.3).
    const auto& t = context_.config.terminal_listener;
    const double measured = drained_.per_second(now) * t.handshake_timeout_s / 2.0;
    return std::max<std::size_t>(kMinInFlight, static_cast<std::size_t>(measured));
}

double TerminalListener::drain_rate(WaitClock::time_point now) {
    // Before a rate is measured (and as a floor): every place turning over
    // once per handshake_timeout_s, which the deadline enforces.
    const auto& t = context_.config.terminal_listener;
    const double floor =
        static_cast<double>(t.max_unauthenticated) / static_cast<double>(t.handshake_timeout_s);
    return std::max(floor, drained_.per_second(now));
}

void TerminalListener::admit(tcp::socket socket) {
    boost::system::error_code ignored;
    const auto peer = socket.remote_endpoint(ignored);
    if (ignored) {
        socket.close(ignored);
        return;
    }
    std::string address = peer.address().to_string();
    std::shared_ptr<ConnectionGate::Slot> slot;
    Refusal cause = Refusal::none;
    bool queued = false;
    {
        std::lock_guard lock(waiting_mutex_);
        if (!open_) return;  // the socket closes as it goes
        // First come, first served: nobody passes the connections waiting,
        // unless they may not wait (no place is kept empty for them).
        const auto now = WaitClock::now();
        const bool others_wait = !waiting_.empty();
        const std::size_t in_flight = gate_->unauthenticated();
        const bool room = in_flight < in_flight_limit(now);
        if (!others_wait && room) slot = gate_->try_admit(address, &cause);
        if (!slot) {
            const auto offer =
                waiting_.offer(std::move(socket), address, now, in_flight, drain_rate(now));
            queued = offer == WaitOffer::queued;  // else `socket` was left as it was
            if (!queued && others_wait && room) slot = gate_->try_admit(address, &cause);
            if (!queued && !slot && cause == Refusal::none) cause = Refusal::unauthenticated;
            gate_->set_waiting(waiting_.size());
        }
    }
    if (queued) {
        gate_->waited();
        drain();  // a place may have freed meanwhile, or be free for this address
        return;
    }
    if (!slot) {
        // Closed before TLS: a refused connection costs no handshake.
        gate_->refuse(cause);
        socket.close(ignored);
        return;
    }
    start_session(std::move(socket), std::move(slot));
}

void TerminalListener::drain() {
    std::vector<tcp::socket> expired;
    std::vector<std::pair<tcp::socket, std::shared_ptr<ConnectionGate::Slot>>> starting;
    {
        std::lock_guard lock(waiting_mutex_);
        if (waiting_.empty()) return;
        const auto now = WaitClock::now();
        while (auto e = waiting_.take_expired(now)) expired.push_back(std::move(e->item));
        const std::size_t limit = in_flight_limit(now);
        for (;;) {
            if (gate_->unauthenticated() >= limit) break;
            std::shared_ptr<ConnectionGate::Slot> slot;
            auto e = waiting_.take([&](const std::string& address) {
                slot = gate_->try_admit(address);
                return slot != nullptr;
            });
            if (!e) break;
            starting.emplace_back(std::move(e->item), std::move(slot));
        }
        gate_->set_waiting(waiting_.size());
    }
    boost::system::error_code ignored;
    for (auto& s : expired) {
        gate_->timed_out(TimeoutStage::waiting);
        s.close(ignored);
    }
    for (auto& [socket, slot] : starting) start_session(std::move(socket), std::move(slot));
}

void TerminalListener::start_session(tcp::socket socket,
                                     std::shared_ptr<ConnectionGate::Slot> slot) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto strand = socket.get_executor();  // the session's (accept gave each its own)
    auto session = std::make_shared<TerminalSession>(std::move(socket), tls_.current(), context_,
                                                     std::move(slot), roster_);
    {
        std::lock_guard lock(sessions_mutex_);
        if (sessions_.size() > 2 * connections() + 64) {
            std::erase_if(sessions_, [](auto& w) { return w.expired(); });
        }
        sessions_.push_back(session);
    }
    // Later, on the session's strand: not inside the caller's handler (the
    // accept loop, or another session freeing its place).
    asio::post(strand, [session] { session->start(); });
}

template <typename F>
void TerminalListener::for_each_session(F f) {
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_) {
        if (auto s = weak.lock()) f(*s);
    }
}

void TerminalListener::stop() {
    {
        // The waiting connections are closed: they have not begun.
        std::lock_guard lock(waiting_mutex_);
        open_ = false;
        while (!waiting_.empty()) {
            auto e = waiting_.take([](const std::string&) { return true; });
            boost::system::error_code ignored;
            if (e) e->item.close(ignored);
        }
        gate_->set_waiting(0);
    }
    asio::post(sweep_strand_, [self = shared_from_this()] { self->sweep_.cancel(); });
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->backoff_.cancel();
    });
    for_each_session([](TerminalSession& s) { s.drain(); });
}

void TerminalListener::close_sessions() {
    for_each_session([](TerminalSession& s) { s.close(); });
}

void TerminalListener::accept() {
    acceptor_.async_accept(
        asio::make_strand(executor_),
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
            if (ec) {
                const AcceptError kind = classify_accept_error(ec);
                self->gate_->accept_failed(kind);
                if (kind != AcceptError::other) {
                    // The pending connection stays in the backlog: accepting again
                    // at once would fail again at once, forever.
                    self->backoff_.expires_after(kAcceptBackoff);
                    self->backoff_.async_wait([self](boost::system::error_code wec) {
                        if (!wec && self->acceptor_.is_open()) self->accept();
                    });
                    return;
                }
                log_warn("terminal", "accept failed: " + ec.message());
                self->accept();
                return;
            }
            // Admitted before the next accept: connections are counted against
            // their address's budget, and take their place in the waiting
            // room, in the order they arrived. Asking for the next one first
            // let another I/O thread admit a later connection before this one
            // (a connection within the budget refused, one past it let in).
            // admit() is cheap: the handshake itself is posted to the
            // session's strand, where any I/O thread may run it (§12.7).
            self->admit(std::move(socket));
            self->accept();
        });
}

}  // namespace huxiao::net
