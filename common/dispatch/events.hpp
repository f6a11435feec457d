// Inputs of the dispatch core. The shell turns frames, console commands, timer
// expiries and a periodic tick into these and calls DispatchCore::handle.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "common/model/time_point.hpp"

namespace huxiao::dispatch {

// An alarm committed by intake. new_incident = false when it joined an open
// incident as a repeat alarm: recorded by the shell, no new offers.
struct AlarmIntaken {
    std::string incident;
    std::string school;
    std::string kind;
    bool drill = false;
    TimePoint received_at{};
    bool new_incident = true;
};

// Console commands (contract §4 /ws/console). `actor` is the token name.
// Cancel is also how a terminal's cancel request ends an incident, once a
// dispatcher confirms it.
struct ConsoleCancel {
    std::string incident;
    std::string actor;
    std::string reason;
};
struct ConsoleResolve {
    std::string incident;
    std::string actor;
    std::string note;
};
struct ConsoleAssign {
    std::string incident;
    std::string unit;
    std::string actor;
};
struct ConsoleAcknowledge {
    std::string incident;
    std::string actor;
};
struct ConsoleNote {
    std::string incident;
    std::string actor;
    std::string text;
};

// Patrol unit sessions (contract §4 /ws/unit).
struct UnitConnected {
    std::string unit;
};
struct UnitDisconnected {
    std::string unit;
};
struct UnitPosition {
    std::string unit;
    double lat = 0;
    double lon = 0;
};
struct UnitAvailability {
    std::string unit;
    bool available = true;  // false: "out_of_service"
};
struct UnitAccept {
    std::string unit;
    std::string incident;
};
struct UnitDecline {
    std::string unit;
    std::string incident;
    std::string reason;
};
struct UnitEnRoute {
    std::string unit;
    std::string incident;
};
struct UnitArrived {
    std::string unit;
    std::string incident;
};
struct UnitClear {
    std::string unit;
    std::string incident;
    std::string outcome;
};

// A timer started by StartTimer ran out (same fields as its OfferTimerKey).
// Ignored when the offer was answered, withdrawn or expired meanwhile.
struct OfferTimerFired {
    std::string incident;
    std::string unit;
    std::uint64_t seq = 0;
};

// The database recorded an alarm under `recorded`, not under the incident
// intake had opened for it (`proposed`): the alarm id was known from before,
// from an incident this process had forgotten (a restart, a failover). The
// database has the last word on idempotency, so the incident opened by
// mistake is cancelled by "system" and its units freed. Nothing happens when
// they are equal or `proposed` is no longer open.
struct AlarmReconciled {
    std::string proposed;
    std::string recorded;
};

// Periodic (every few seconds, and once after restoring): expires offers whose
// deadline passed without their timer firing (e.g. across a restart) and
// offers the open places of restored incidents. Waiting incidents need no
// tick: whatever frees or brings back a unit offers it at once.
struct Tick {};

using Event = std::variant<AlarmIntaken, ConsoleCancel, ConsoleResolve, ConsoleAssign,
                           ConsoleAcknowledge, ConsoleNote, UnitConnected, UnitDisconnected,
                           UnitPosition, UnitAvailability, UnitAccept, UnitDecline, UnitEnRoute,
                           UnitArrived, UnitClear, OfferTimerFired, Tick, AlarmReconciled>;

}  // namespace huxiao::dispatch
