// The Dispatcher owns all live dispatch state on one strand, so it needs no
// locks: alarm triage (new incident / repeat / retransmission), the terminals
// online per school for status pushes, and the hand-off of every record to
// the IncidentLog. Decisions are made in memory at once; the database write
// runs behind them, and only the terminal's `ack` waits for the commit.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/intake/alarm_triage.hpp"
#include "common/protocol/terminal_protocol.hpp"
#include "server/app/metrics.hpp"
#include "server/app/registry_holder.hpp"
#include "server/app/terminal_port.hpp"
#include "server/db/incident_log.hpp"

namespace huxiao {

class Dispatcher {
public:
    Dispatcher(boost::asio::any_io_executor executor, const Config& config, db::IncidentLog& log,
               RegistryHolder& registry, Metrics& metrics);

    // Before the listeners open: the incidents still open in the database.
    void restore(const std::vector<AlarmTriage::OpenIncident>& open, UnixMicros newest_incident_at);

    // All thread-safe: they post to the dispatcher's strand.
    void terminal_online(std::shared_ptr<TerminalPort> port, const std::string& school);
    void terminal_offline(const std::shared_ptr<TerminalPort>& port, const std::string& school);
    // Answers the terminal through `port` with `ack` once durable, or `error`.
    void alarm(std::shared_ptr<TerminalPort> port, const std::string& school, terminal::Alarm alarm,
               UnixMicros received_at);
    void cancel(std::shared_ptr<TerminalPort> port, const std::string& school,
                terminal::Cancel cancel, UnixMicros received_at);

    std::size_t open_incidents() const { return open_incidents_; }

private:
    void on_alarm(const std::shared_ptr<TerminalPort>& port, const std::string& school,
                  terminal::Alarm alarm, UnixMicros received_at);
    void push_status(const std::string& school, const terminal::StatusPush& status);

    boost::asio::any_io_executor strand_;
    const Config& config_;
    db::IncidentLog& log_;
    RegistryHolder& registry_;
    Metrics& metrics_;
    AlarmTriage triage_;
    std::multimap<std::string, std::weak_ptr<TerminalPort>> online_by_school_;
    std::atomic<std::size_t> open_incidents_{0};
};

}  // namespace huxiao
