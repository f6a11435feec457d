#include "server/base/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace huxiao {

namespace {

const prometheus::Histogram::BucketBoundaries kSeconds = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Histogram& histogram(prometheus::Registry& r, const char* name, const char* help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, kSeconds);
}

}  // namespace

void Counter::increment() { counter_.Increment(); }
double Counter::value() const { return counter_.Value(); }

void Histogram::observe(double seconds) { histogram_.Observe(seconds); }

void LabelledCounter::add(const std::string& value) { family_.Add({{label_, value}}).Increment(); }

std::uint64_t LabelledCounter::get(const std::string& value) const {
    return static_cast<std::uint64_t>(family_.Add({{label_, value}}).Value());
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      alarms_received(counter(*registry_, "huxiao_alarms_received_total",
                              "Alarm frames received from terminals.")),
      alarms_acked(counter(*registry_, "huxiao_alarms_acked_total",
                           "Alarms acknowledged after a durable commit.")),
      alarms_unavailable(counter(*registry_, "huxiao_alarms_unavailable_total",
                                 "Alarms answered unavailable (not durable in time).")),
      incidents_opened(counter(*registry_, "huxiao_incidents_opened_total", "Incidents opened.")),
      offers_sent(
          counter(*registry_, "huxiao_offers_sent_total", "Dispatch offers sent to units.")),
      http_requests(counter(*registry_, "huxiao_http_requests_total", "HTTP requests served.")),
      dc09_frames(prometheus::BuildCounter()
                      .Name("huxiao_dc09_frames_total")
                      .Help("SIA DC-09 frames by outcome (accepted, or why not).")
                      .Register(*registry_),
                  "outcome"),
      ack_latency(histogram(*registry_, "huxiao_ack_latency_seconds",
                            "From an alarm frame's arrival to its ack (durable commit included).")),
      db_write_latency(histogram(*registry_, "huxiao_db_write_latency_seconds",
                                 "From a record entering the write queue to its commit.")),
      alarm_to_offer(histogram(*registry_, "huxiao_alarm_to_offer_seconds",
                               "From an alarm frame's arrival to the first offer of its incident "
                               "leaving for a unit.")) {}

Metrics::~Metrics() = default;

void Metrics::add_gauge(const std::string& name, const std::string& help,
                        std::function<double()> read) {
    auto& gauge = prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
    std::lock_guard lock(render_mutex_);
    readings_.push_back({std::move(read), &gauge, nullptr});
}

void Metrics::add_counter(const std::string& name, const std::string& help,
                          std::function<double()> read) {
    auto& c = prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add({});
    std::lock_guard lock(render_mutex_);
    readings_.push_back({std::move(read), nullptr, &c});
}

std::string Metrics::render() {
    std::lock_guard lock(render_mutex_);
    for (const Reading& r : readings_) {
        const double now = r.read();
        if (r.gauge) r.gauge->Set(now);
        // A prometheus-cpp counter only grows: catch it up with its source.
        if (r.counter && now > r.counter->Value()) r.counter->Increment(now - r.counter->Value());
    }
    std::string out = prometheus::TextSerializer().Serialize(registry_->Collect());
    for (const auto& family : families) out += family();
    return out;
}

}  // namespace huxiao
