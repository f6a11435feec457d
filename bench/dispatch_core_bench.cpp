// DispatchCore micro-benchmark: what the dispatcher strand spends per event,
// with the end-to-end load (500 schools, 200 connected units around
// Wuhan). alarm_to_offer is a new alarm handled into its offers (then cancelled
// so the fleet stays free); position_report is one AVL report, while nothing
// waits and while 300 incidents wait for units. alarm_while_waiting and
// tick_while_waiting are the alarm storm of docs/performance.md §12: every unit
// busy, N incidents waiting for one, then one more alarm (cancelled again
// outside the timing) or one periodic Tick with no offer due.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "common/dispatch/dispatch_core.hpp"

namespace {

using namespace huxiao;
using namespace huxiao::dispatch;

const TimePoint kT0 = from_unix_micros(1788220800LL * 1000000);

std::string name(const char* prefix, int i) {
    std::string s = prefix;
    s += std::to_string(i);
    return s;
}

struct City {
    Registry registry;
    City() {
        std::mt19937_64 rng(1);
        std::uniform_real_distribution<double> lat(30.29, 30.89), lon(114.0, 114.6);
        for (int i = 0; i < 500; ++i) {
            registry.schools.push_back({name("S-", i), "school", "D-1", {lat(rng), lon(rng)}});
        }
        for (int i = 0; i < 200; ++i) {
            registry.units.push_back({name("P-", i), "", "D-1", {lat(rng), lon(rng)}});
        }
    }
};

void alarm_to_offer(benchmark::State& state) {
    City city;
    DispatchCore core(CoreConfig{}, city.registry);
    TimePoint now = kT0;
    for (const Unit& u : city.registry.units) core.handle(UnitConnected{u.id}, now);
    int n = 0;
    for (auto _ : state) {
        const std::string id = name("I-", n);
        auto actions =
            core.handle(AlarmIntaken{id, name("S-", n % 500), "assault", false, now, true}, now);
        benchmark::DoNotOptimize(actions.data());
        state.PauseTiming();
        core.handle(ConsoleCancel{id, "bench", "done"}, now);
        now += Micros{10};
        ++n;
        state.ResumeTiming();
    }
}

void position_report(benchmark::State& state) {
    City city;
    DispatchCore core(CoreConfig{}, city.registry);
    TimePoint now = kT0;
    for (const Unit& u : city.registry.units) core.handle(UnitConnected{u.id}, now);
    // Occupy every unit with accepted incidents, then let more incidents wait.
    const int waiting = static_cast<int>(state.range(0));
    int n = 0;
    for (; n < 100; ++n) {
        const std::string id = name("I-", n);
        core.handle(AlarmIntaken{id, name("S-", n), "assault", false, now, true}, now);
        for (const Offer& o : core.incident(id)->offers) core.handle(UnitAccept{o.unit, id}, now);
    }
    for (int w = 0; w < waiting; ++w, ++n) {
        core.handle(AlarmIntaken{name("I-", n), name("S-", n % 500), "medical", false, now, true},
                    now);
    }
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<double> lat(30.29, 30.89), lon(114.0, 114.6);
    std::uniform_int_distribution<int> pick(0, 199);
    for (auto _ : state) {
        auto actions = core.handle(UnitPosition{name("P-", pick(rng)), lat(rng), lon(rng)}, now);
        benchmark::DoNotOptimize(actions.data());
    }
    state.counters["open_incidents"] = static_cast<double>(core.open_incidents().size());
}

// Every unit holds an accepted incident (100 assaults, two units each) and
// `waiting` more incidents wait for a unit, as in an alarm storm. The waiting
// ones are restored (as at start-up) and found short of units by one Tick, so
// the set-up costs the same before and after the change being measured.
void occupy_and_wait(DispatchCore& core, const City& city, TimePoint now, int waiting) {
    for (const Unit& u : city.registry.units) core.handle(UnitConnected{u.id}, now);
    int n = 0;
    for (; n < 100; ++n) {
        const std::string id = name("I-", n);
        core.handle(AlarmIntaken{id, name("S-", n), "assault", false, now, true}, now);
        for (const Offer& o : core.incident(id)->offers) core.handle(UnitAccept{o.unit, id}, now);
    }
    for (int w = 0; w < waiting; ++w, ++n) {
        Incident inc;
        inc.id = name("I-", n);
        inc.school = name("S-", n % 500);
        inc.kind = "medical";
        inc.received_at = now - Micros{waiting - w};
        core.restore(std::move(inc));
    }
    core.handle(Tick{}, now);
}

void alarm_while_waiting(benchmark::State& state) {
    City city;
    DispatchCore core(CoreConfig{}, city.registry);
    TimePoint now = kT0;
    occupy_and_wait(core, city, now, static_cast<int>(state.range(0)));
    int n = 0;
    for (auto _ : state) {
        now += Micros{10};
        const std::string id = name("N-", n);
        auto actions =
            core.handle(AlarmIntaken{id, name("S-", n % 500), "medical", false, now, true}, now);
        benchmark::DoNotOptimize(actions.data());
        state.PauseTiming();
        core.handle(ConsoleCancel{id, "bench", "done"}, now);
        ++n;
        state.ResumeTiming();
    }
    state.counters["open_incidents"] = static_cast<double>(core.open_incidents().size());
}

void tick_while_waiting(benchmark::State& state) {
    City city;
    DispatchCore core(CoreConfig{}, city.registry);
    TimePoint now = kT0;
    occupy_and_wait(core, city, now, static_cast<int>(state.range(0)));
    for (auto _ : state) {
        now += Micros{10};
        auto actions = core.handle(Tick{}, now);
        benchmark::DoNotOptimize(actions.data());
    }
    state.counters["open_incidents"] = static_cast<double>(core.open_incidents().size());
}

BENCHMARK(alarm_to_offer);
BENCHMARK(position_report)->Arg(0)->Arg(300);
BENCHMARK(alarm_while_waiting)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(tick_while_waiting)->Arg(100)->Arg(1000)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
