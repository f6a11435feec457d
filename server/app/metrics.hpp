// Counters and histograms for /metrics (Prometheus text exposition). Updated
// with relaxed atomics from any thread; rendered on request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace huxiao {

class Histogram {
  public:
    // Upper bounds in seconds.
    static constexpr std::array<double, 14> kBounds = {
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};
    void observe(double seconds);
    void render(std::string& out, const std::string& name, const std::string& help) const;

  private:
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_us_{0};
};

// A counter with one label whose values are known only as they occur.
class LabelledCounter {
  public:
    void add(const std::string& value);
    std::uint64_t get(const std::string& value) const;
    void render(std::string& out, const std::string& name, const std::string& label,
                const std::string& help) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::uint64_t> counts_;
};

struct Metrics {
    std::atomic<std::uint64_t> alarms_received{0};
    std::atomic<std::uint64_t> alarms_acked{0};
    std::atomic<std::uint64_t> alarms_unavailable{0};
    std::atomic<std::uint64_t> incidents_opened{0};
    std::atomic<std::uint64_t> offers_sent{0};
    std::atomic<std::uint64_t> http_requests{0};
    // DC-09 frames by what became of them: accepted, the refusal (bad_crc,
    // unknown_account, …), or not_durable / over_rate / too_large (unanswered).
    LabelledCounter dc09_frames;
    Histogram ack_latency;       // alarm frame received -> ack queued
    Histogram db_write_latency;  // record queued -> committed
    Histogram
        alarm_to_offer;  // alarm frame received -> its incident's first offer queued to a unit

    // Values read at render time (set by the wiring): a gauge, or a counter
    // kept elsewhere (its name ends in _total, by Prometheus' conventions).
    struct Reading {
        std::string name;
        std::string help;
        std::function<double()> read;
        bool counter = false;
    };
    std::vector<Reading> readings;
    // Labelled families rendered by their owners (e.g. connection refusals
    // by listener and cause), appended as they are.
    std::vector<std::function<std::string()>> families;

    std::string render() const;
};

}  // namespace huxiao
