// Counters, gauges and histograms for /metrics, kept in a prometheus-cpp
// registry (its core library only: huxiaod serves /metrics through its own
// HTTP listener, with its own access rule). Updated from any thread;
// rendered in Prometheus' text format on request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace huxiao {

class Counter {
  public:
    explicit Counter(prometheus::Counter& counter) : counter_(counter) {}
    void increment();
    double value() const;

  private:
    prometheus::Counter& counter_;
};

// Durations in seconds, in buckets from 0.5 ms to 10 s.
class Histogram {
  public:
    explicit Histogram(prometheus::Histogram& histogram) : histogram_(histogram) {}
    void observe(double seconds);

  private:
    prometheus::Histogram& histogram_;
};

// A counter with one label whose values are known only as they occur (from
// a closed set in the code: never client input).
class LabelledCounter {
  public:
    LabelledCounter(prometheus::Family<prometheus::Counter>& family, std::string label)
        : family_(family), label_(std::move(label)) {}
    void add(const std::string& value);
    std::uint64_t get(const std::string& value) const;

  private:
    prometheus::Family<prometheus::Counter>& family_;
    std::string label_;
};

class Metrics {
    // First: the members below refer into it.
    std::shared_ptr<prometheus::Registry> registry_;

  public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    Counter alarms_received;
    Counter alarms_acked;
    Counter alarms_unavailable;
    Counter incidents_opened;
    Counter offers_sent;
    Counter http_requests;
    // DC-09 frames by what became of them: accepted, the refusal (bad_crc,
    // unknown_account, …), or not_durable / over_rate / too_large (unanswered).
    LabelledCounter dc09_frames;
    Histogram ack_latency;       // alarm frame received -> ack queued
    Histogram db_write_latency;  // record queued -> committed
    Histogram alarm_to_offer;    // alarm frame received -> its incident's first offer queued

    // Values kept elsewhere, read at each scrape (set by the wiring before
    // the listeners open): a gauge, or a count that only grows (a counter;
    // its name ends in _total, by Prometheus' conventions).
    void add_gauge(const std::string& name, const std::string& help, std::function<double()> read);
    void add_counter(const std::string& name, const std::string& help,
                     std::function<double()> read);
    // Labelled families rendered as text by their owners (connection
    // refusals by listener and cause), appended as they are.
    std::vector<std::function<std::string()>> families;

    std::string render();

  private:
    struct Reading {
        std::function<double()> read;
        prometheus::Gauge* gauge = nullptr;
        prometheus::Counter* counter = nullptr;
    };
    std::mutex render_mutex_;  // one scrape at a time updates the readings
    std::vector<Reading> readings_;
};

}  // namespace huxiao
