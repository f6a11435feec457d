// The standard process metrics of Prometheus' client libraries, read from
// /proc/self on each scrape: process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_cpu_seconds_total and process_start_time_seconds. Dashboards and
// alerts written for any Prometheus-instrumented service work on huxiaod.
#pragma once

#include <string>

namespace huxiao {

// Prometheus text exposition of the metrics above; a value that cannot be
// read (not Linux, /proc not mounted) is left out rather than reported as 0.
std::string render_process_metrics();

}  // namespace huxiao
