#include "server/app/metrics.hpp"

#include <cstdio>

namespace huxiao {

void Histogram::observe(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
    std::uint64_t cumulative = 0;
    char line[160];
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), kBounds[i],
                      static_cast<unsigned long long>(cumulative));
        out += line;
    }
    cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
    std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                  name.c_str(), static_cast<unsigned long long>(cumulative), name.c_str(),
                  static_cast<double>(sum_us_.load()) / 1e6, name.c_str(),
                  static_cast<unsigned long long>(count_.load()));
    out += line;
}

void LabelledCounter::add(const std::string& value) {
    std::lock_guard lock(mutex_);
    ++counts_[value];
}

std::uint64_t LabelledCounter::get(const std::string& value) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(value);
    return it == counts_.end() ? 0 : it->second;
}

void LabelledCounter::render(std::string& out, const std::string& name, const std::string& label,
                             const std::string& help) const {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
    std::lock_guard lock(mutex_);
    for (const auto& [value, count] : counts_) {
        out += name + "{" + label + "=\"" + value + "\"} " + std::to_string(count) + "\n";
    }
}

std::string Metrics::render() const {
    std::string out;
    const auto counter = [&](const char* name, const char* help,
                             const std::atomic<std::uint64_t>& v) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" +
               name + " " + std::to_string(v.load()) + "\n";
    };
    counter("huxiao_alarms_received_total", "Alarm frames received from terminals.",
            alarms_received);
    counter("huxiao_alarms_acked_total", "Alarms acknowledged after a durable commit.",
            alarms_acked);
    counter("huxiao_alarms_unavailable_total", "Alarms answered unavailable (not durable in time).",
            alarms_unavailable);
    counter("huxiao_incidents_opened_total", "Incidents opened.", incidents_opened);
    counter("huxiao_offers_sent_total", "Dispatch offers sent to units.", offers_sent);
    counter("huxiao_http_requests_total", "HTTP requests served.", http_requests);
    dc09_frames.render(out, "huxiao_dc09_frames_total", "outcome",
                       "SIA DC-09 frames by outcome (accepted, or why not).");
    for (const auto& r : readings) {
        char value[64];
        std::snprintf(value, sizeof value, "%.17g", r.read());
        out += "# HELP " + r.name + " " + r.help + "\n# TYPE " + r.name +
               (r.counter ? " counter\n" : " gauge\n") + r.name + " " + value + "\n";
    }
    ack_latency.render(out, "huxiao_ack_latency_seconds",
                       "From an alarm frame's arrival to its ack (durable commit included).");
    db_write_latency.render(out, "huxiao_db_write_latency_seconds",
                            "From a record entering the write queue to its commit.");
    alarm_to_offer.render(
        out, "huxiao_alarm_to_offer_seconds",
        "From an alarm frame's arrival to the first offer of its incident leaving for a unit.");
    for (const auto& family : families) out += family();
    return out;
}

}  // namespace huxiao
