// The Dispatcher owns all live dispatch state on one strand, so it needs no
// locks. It runs the pure cores — AlarmTriage (through AlarmIntake),
// TerminalSupervisor and DispatchCore (offers, escalation, arrival,
// clearance) — and performs their actions: frames to units and terminals,
// timeline appends to the IncidentLog, events to consoles (ConsoleHub), and
// timers.
//
// Decisions are made in memory at once; the database write runs behind them,
// so a slow database never delays an offer. Only the terminal's `ack` waits
// for the commit of its alarm. docs/architecture.md, "Ordering", states which
// strand does what.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/dispatch/dispatch_core.hpp"
#include "common/dispatch/replay.hpp"
#include "common/intake/alarm_triage.hpp"
#include "common/intake/terminal_supervisor.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "server/app/alarm_intake.hpp"
#include "server/app/auth.hpp"
#include "server/app/console_hub.hpp"
#include "server/app/registry_holder.hpp"
#include "server/app/terminal_port.hpp"
#include "server/app/ws_channel.hpp"
#include "server/base/clock.hpp"
#include "server/base/metrics.hpp"
#include "server/db/incident_log.hpp"
#include "server/db/recovery.hpp"

namespace huxiao {

namespace console_protocol {
struct SnapshotView;
}

class Dispatcher {
  public:
    Dispatcher(boost::asio::any_io_executor executor, const Config& config, db::IncidentLog& log,
               RegistryHolder& registry, Metrics& metrics, const Clock& clock);
    ~Dispatcher();

    // Before the listeners open: the incidents still open in the database.
    void restore(const std::vector<RecoveredIncident>& open, UnixMicros newest_incident_at);
    void start();  // timers (restored offers, periodic tick)
    // The registry changed (admin API): routing and lookups use the new one,
    // and sessions of terminals disabled, removed or moved to another school,
    // and of units removed, are ended (contract 1.1 revocation).
    void replace_registry(const Registry& registry);
    void stop();

    // Everything below is thread-safe: it posts to the dispatcher's strand.

    // A token was revoked: every open WebSocket session that uses it is
    // closed with 4001 `revoked`.
    void revoke_token(const std::string& name);

    // School terminals.
    void terminal_online(std::shared_ptr<TerminalPort> port, const std::string& school);
    void terminal_offline(const std::shared_ptr<TerminalPort>& port, const std::string& school);
    // Any frame from a terminal: a sign of life for supervision.
    void terminal_seen(const std::string& terminal, UnixMicros at);
    // A terminal that keeps no session (a DC-09 panel) was heard from:
    // online now, offline after `window_us` of silence (0: the supervision
    // window of TLS terminals).
    void terminal_heard_from(const std::string& terminal, UnixMicros at, UnixMicros window_us);
    // At start: the terminals the database last saw online, with when.
    void restore_terminals(const std::vector<std::pair<std::string, UnixMicros>>& online);
    // Answers through `port` with `ack` once durable, or `error`. The alarm's
    // frame is also the terminal's sign of life (as terminal_seen), taken in
    // the same hop onto the strand.
    void alarm(std::shared_ptr<TerminalPort> port, const std::string& school, terminal::Alarm alarm,
               UnixMicros received_at);
    // The same for any alarm source (e.g. DC-09): `reply` is called once.
    void alarm(const std::string& school, const std::string& terminal, terminal::Alarm alarm,
               UnixMicros received_at, IntakeReplier reply);
    void cancel(std::shared_ptr<TerminalPort> port, const std::string& school,
                terminal::Cancel cancel, UnixMicros received_at);
    void cancel(const std::string& school, const std::string& terminal, terminal::Cancel cancel,
                UnixMicros received_at, IntakeReplier reply);

    // Patrol units (/ws/unit). A second session of the same unit replaces the
    // first. `token` is the name of the token the session signed in with.
    void unit_connected(const std::string& unit, const std::string& token,
                        std::shared_ptr<WsPeer> peer);
    void unit_message(const std::string& unit, const std::string& text,
                      std::shared_ptr<WsPeer> peer);
    void unit_disconnected(const std::string& unit, const std::shared_ptr<WsPeer>& peer);

    // Dispatch consoles (/ws/console).
    void console_opened(const Principal& who, std::shared_ptr<WsPeer> peer);
    void console_message(const Principal& who, const std::string& text,
                         std::shared_ptr<WsPeer> peer);
    void console_closed(const std::shared_ptr<WsPeer>& peer);

    std::size_t open_incidents() const { return intake_.open_incidents(); }
    std::size_t units_connected() const { return units_connected_; }
    std::size_t terminals_online() const { return terminals_online_; }

  private:
    using Replier = std::function<void(const dispatch::ReplyError&)>;

    void handle(const dispatch::Event& event, const Replier& reply = {});
    // One function per action of the core, in the order the core gave them.
    void perform(const dispatch::SendToUnit& a);
    void perform(const dispatch::PushStatus& a);
    void perform(const dispatch::AppendTimeline& a);
    void perform(const dispatch::StartTimer& a);
    void perform(const dispatch::CancelTimer& a);
    void perform(const dispatch::IncidentClosed& a);
    void tick();
    // Coalesced: at most one snapshot per console is being built (ConsoleHub).
    void request_snapshot(const Principal& who, const std::shared_ptr<WsPeer>& peer,
                          bool with_schools);
    void build_snapshot(const Principal& who, const std::shared_ptr<WsPeer>& peer,
                        bool with_schools);
    void copy_live_state(const Principal& who, console_protocol::SnapshotView& view) const;
    void publish_about_school(const std::string& school, std::string text);
    void record_transitions(const std::vector<TerminalSupervisor::Transition>& transitions);
    void revoke_sessions_outside(const Registry& registry);
    void flush_seen();
    void sample_position(const dispatch::UnitPosition& p);
    std::string next_event_key();

    boost::asio::any_io_executor io_;  // for work that must not hold the strand
    boost::asio::any_io_executor strand_;
    const Config& config_;
    db::IncidentLog& log_;
    RegistryHolder& registry_;
    Metrics& metrics_;
    const Clock& clock_;
    ConsoleHub consoles_;
    AlarmIntake intake_;
    TerminalSupervisor supervisor_;
    std::set<std::string> seen_dirty_;  // terminals whose last_seen is not yet written
    std::chrono::steady_clock::time_point last_seen_flush_{};
    std::chrono::steady_clock::time_point last_prune_{};
    std::map<std::string, UnixMicros> last_position_sample_;
    std::set<std::string> offered_;  // open incidents that have had their first offer
    dispatch::DispatchCore core_;
    std::vector<dispatch::Action> restored_timers_;

    std::multimap<std::string, std::weak_ptr<TerminalPort>> online_by_school_;
    std::map<std::string, int> terminal_sessions_;  // terminal -> open sessions
    struct UnitSession {
        std::weak_ptr<WsPeer> peer;
        std::string token;
    };
    std::map<std::string, UnitSession> units_;
    std::map<dispatch::OfferTimerKey, std::unique_ptr<boost::asio::steady_timer>> timers_;
    boost::asio::steady_timer tick_timer_;
    std::string event_key_prefix_;
    std::uint64_t event_counter_ = 0;
    bool stopped_ = false;
    std::atomic<std::size_t> units_connected_{0};
    std::atomic<std::size_t> terminals_online_{0};
};

}  // namespace huxiao
