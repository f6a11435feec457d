// The Dispatcher owns all live dispatch state on one strand, so it needs no
// locks. It runs the pure cores — AlarmTriage (new incident, repeat alarm or
// retransmission) and DispatchCore (offers, escalation, arrival, clearance) —
// and carries out their actions: frames to units and terminals, timeline
// appends to the IncidentLog, events to consoles, and timers.
//
// Decisions are made in memory at once; the database write runs behind them,
// so a slow database never delays an offer. Only the terminal's `ack` waits
// for the commit of its alarm.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/dispatch/dispatch_core.hpp"
#include "common/dispatch/replay.hpp"
#include "common/intake/alarm_triage.hpp"
#include "common/intake/terminal_supervisor.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "server/app/auth.hpp"
#include "server/app/metrics.hpp"
#include "server/app/registry_holder.hpp"
#include "server/app/terminal_port.hpp"
#include "server/db/incident_log.hpp"
#include "server/sessions/ws_channel.hpp"

namespace huxiao {

// An open incident as read back at start-up.
struct RecoveredIncident {
    dispatch::IncidentHeader header;
    std::vector<dispatch::TimelineRecord> timeline;
    AlarmTriage::OpenIncident triage;
};

class Dispatcher {
  public:
    Dispatcher(boost::asio::any_io_executor executor, const Config& config, db::IncidentLog& log,
               RegistryHolder& registry, Metrics& metrics);
    ~Dispatcher();

    // Before the listeners open: the incidents still open in the database.
    void restore(const std::vector<RecoveredIncident>& open, UnixMicros newest_incident_at);
    void start();  // timers (restored offers, periodic tick)
    // The registry changed (admin API): routing and lookups use the new one.
    void replace_registry(const Registry& registry);
    void stop();

    // Everything below is thread-safe: it posts to the dispatcher's strand.

    // School terminals.
    void terminal_online(std::shared_ptr<TerminalPort> port, const std::string& school);
    void terminal_offline(const std::shared_ptr<TerminalPort>& port, const std::string& school);
    // Any frame from a terminal: a sign of life for supervision.
    void terminal_seen(const std::string& terminal, UnixMicros at);
    // At start: the terminals the database last saw online, with when.
    void restore_terminals(const std::vector<std::pair<std::string, UnixMicros>>& online);
    // Answers through `port` with `ack` once durable, or `error`.
    void alarm(std::shared_ptr<TerminalPort> port, const std::string& school, terminal::Alarm alarm,
               UnixMicros received_at);
    void cancel(std::shared_ptr<TerminalPort> port, const std::string& school,
                terminal::Cancel cancel, UnixMicros received_at);

    // Patrol units (/ws/unit). A second session of the same unit replaces the first.
    void unit_connected(const std::string& unit, std::shared_ptr<WsPeer> peer);
    void unit_message(const std::string& unit, const std::string& text,
                      std::shared_ptr<WsPeer> peer);
    void unit_disconnected(const std::string& unit, const std::shared_ptr<WsPeer>& peer);

    // Dispatch consoles (/ws/console).
    void console_opened(const Principal& who, std::shared_ptr<WsPeer> peer);
    void console_message(const Principal& who, const std::string& text,
                         std::shared_ptr<WsPeer> peer);
    void console_closed(const std::shared_ptr<WsPeer>& peer);

    std::size_t open_incidents() const { return open_incidents_; }
    std::size_t units_connected() const { return units_connected_; }
    std::size_t terminals_online() const { return terminals_online_; }

  private:
    using Replier = std::function<void(const dispatch::ReplyError&)>;

    void on_alarm(const std::shared_ptr<TerminalPort>& port, const std::string& school,
                  terminal::Alarm alarm, UnixMicros received_at);
    void handle(const dispatch::Event& event, const Replier& reply = {});
    void execute(std::vector<dispatch::Action>& actions, const Replier& reply);
    void push_status(const std::string& school, const terminal::StatusPush& status);
    // To every console allowed to see `school` (education tokens may be
    // limited to districts).
    void publish(const nlohmann::json& message);
    void start_timer(const dispatch::StartTimer& timer);
    void tick();
    nlohmann::json snapshot(const Principal& who, bool with_schools = true) const;
    static bool sees_district(const Principal& who, const std::string& district);
    void record_transitions(const std::vector<TerminalSupervisor::Transition>& transitions);
    void flush_seen();
    void sample_position(const dispatch::UnitPosition& p);
    std::string next_event_key();

    boost::asio::any_io_executor strand_;
    const Config& config_;
    db::IncidentLog& log_;
    RegistryHolder& registry_;
    Metrics& metrics_;
    AlarmTriage triage_;
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
    std::map<std::string, std::weak_ptr<WsPeer>> units_;
    struct Console {
        Principal who;
        std::weak_ptr<WsPeer> peer;
    };
    std::vector<Console> consoles_;
    std::map<dispatch::OfferTimerKey, std::unique_ptr<boost::asio::steady_timer>> timers_;
    boost::asio::steady_timer tick_timer_;
    std::string event_key_prefix_;
    std::uint64_t event_counter_ = 0;
    bool stopped_ = false;
    std::atomic<std::size_t> open_incidents_{0};
    std::atomic<std::size_t> units_connected_{0};
    std::atomic<std::size_t> terminals_online_{0};
};

}  // namespace huxiao
