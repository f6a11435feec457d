#include "tools/bench/pgbench_log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace huxiao::bench {

namespace {

struct Transaction {
    std::int64_t done_us;     // completion, µs since the epoch
    std::int64_t latency_us;  // -1 when failed or skipped
};

double percentile(const std::vector<std::int64_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return static_cast<double>(sorted[rank - 1]);
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

std::string summarise_pgbench_logs(const std::vector<std::filesystem::path>& files, double warmup_s,
                                   double duration_s) {
    std::vector<Transaction> all;
    for (const auto& file : files) {
        std::ifstream in(file);
        if (!in) throw std::runtime_error("cannot read " + file.string());
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string client, number, time, script;
            std::int64_t epoch = 0, us = 0;
            if (!(fields >> client >> number >> time >> script >> epoch >> us)) {
                throw std::runtime_error(file.string() +
                                         ": not a pgbench transaction log line: " + line);
            }
            const std::int64_t done = epoch * 1'000'000 + us;
            const bool ok = !time.empty() && std::isdigit(static_cast<unsigned char>(time[0]));
            all.push_back({done, ok ? std::stoll(time) : -1});
        }
    }
    std::int64_t t0 = std::numeric_limits<std::int64_t>::max();
    std::int64_t last = 0;
    for (const auto& t : all) {
        t0 = std::min(t0, t.done_us - std::max<std::int64_t>(t.latency_us, 0));
        last = std::max(last, t.done_us);
    }
    const auto from = t0 + static_cast<std::int64_t>(warmup_s * 1e6);
    const auto to = from + static_cast<std::int64_t>(duration_s * 1e6);
    std::vector<std::int64_t> latencies;
    std::uint64_t failed = 0;
    double sum = 0;
    for (const auto& t : all) {
        if (t.done_us < from || t.done_us >= to) continue;
        if (t.latency_us < 0) {
            ++failed;
            continue;
        }
        latencies.push_back(t.latency_us);
        sum += static_cast<double>(t.latency_us);
    }
    std::sort(latencies.begin(), latencies.end());
    const double n = static_cast<double>(latencies.size());
    nlohmann::json j = {
        {"tool", "pgbench"},
        {"warmup_s", warmup_s},
        {"duration_s", duration_s},
        {"transactions", latencies.size()},
        {"tps", round3(n / duration_s)},
        {"latency_ms",
         {{"mean", latencies.empty() ? 0.0 : round3(sum / n / 1000.0)},
          {"p50", round3(percentile(latencies, 0.50) / 1000.0)},
          {"p90", round3(percentile(latencies, 0.90) / 1000.0)},
          {"p99", round3(percentile(latencies, 0.99) / 1000.0)},
          {"p999", round3(percentile(latencies, 0.999) / 1000.0)},
          {"max",
           latencies.empty() ? 0.0 : round3(static_cast<double>(latencies.back()) / 1000.0)}}},
        {"failed", failed},
        // false when pgbench stopped before the window ended (the tps would be low)
        {"covered", !all.empty() && last >= to - 100'000},
    };
    return j.dump();
}

}  // namespace huxiao::bench
