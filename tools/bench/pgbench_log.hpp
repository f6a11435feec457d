// huxiao-bench --pgbench-log: pgbench's per-transaction logs (pgbench -l)
// summarised over the same window and with the same percentile rule as the
// terminal load, so that the two columns of bench/ingest.sh compare like
// with like.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace huxiao::bench {

// Reads pgbench -l files ("client_id transaction_no time script_no
// time_epoch time_us [schedule_lag]"), takes t0 as the start of the first
// transaction and summarises the transactions that completed in
// [t0 + warmup_s, t0 + warmup_s + duration_s). Returns one JSON line.
std::string summarise_pgbench_logs(const std::vector<std::filesystem::path>& files, double warmup_s,
                                   double duration_s);

}  // namespace huxiao::bench
