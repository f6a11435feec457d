// Small helpers shared by huxiao-bench's modes: clocks, CPU time, PEM
// files and nearest-rank percentiles.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/util/time.hpp"

namespace huxiao::bench {

UnixMicros wall_now();
// User + system CPU seconds of this process.
double cpu_seconds();
// Throw std::runtime_error naming the file.
X509* read_cert(const std::filesystem::path& path);
EVP_PKEY* read_key(const std::filesystem::path& path);
// Nearest-rank percentile of sorted values (the rule bench/ingest.sh applies
// to pgbench's per-transaction log too).
double percentile(const std::vector<std::int64_t>& sorted, double p);
double round3(double v);

}  // namespace huxiao::bench
