// /metrics by Prometheus' own rules (issue #16 item 2): `promtool check
// metrics` (from Debian's prometheus package; tools/test.sh fetches it and
// sets HUXIAO_PROMTOOL) finds nothing to complain about in a live scrape of a
// server that has taken an alarm, and the standard process_* metrics are
// there with plausible values.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

// The value of an unlabelled sample `name`, or -1.
double sample(const std::string& text, const std::string& name) {
    const std::regex line("(^|\n)" + name + " ([-0-9.e+]+)\n");
    std::smatch m;
    return std::regex_search(text, m, line) ? std::stod(m[2]) : -1;
}

class MetricsLint : public ServerTest {};

TEST_F(MetricsLint, ALiveScrapePassesPromtoolAndHasProcessMetrics) {
    const char* promtool = std::getenv("HUXIAO_PROMTOOL");
    if (promtool == nullptr || *promtool == '\0') {
        GTEST_SKIP() << "HUXIAO_PROMTOOL is not set (tools/test.sh sets it)";
    }
    start_server();
    auto t = hello("T-1");
    t->send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "medical"}});
    ASSERT_TRUE(t->read_frame_of_type("ack"));

    const auto scrape = get("/metrics", "");
    ASSERT_EQ(scrape.status, 200);
    const auto file = dir_ / "metrics.txt";
    std::ofstream(file) << scrape.body;
    // Output and exit status of: promtool check metrics < file
    const std::string command =
        std::string(promtool) + " check metrics < " + file.string() + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string said;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) said += buffer;
    const int status = ::pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << said;
    EXPECT_EQ(said, "") << scrape.body;

    EXPECT_GT(sample(scrape.body, "process_resident_memory_bytes"), 1e6);
    EXPECT_GT(sample(scrape.body, "process_open_fds"), 5);
    EXPECT_GE(sample(scrape.body, "process_max_fds"), sample(scrape.body, "process_open_fds"));
    EXPECT_GT(sample(scrape.body, "process_cpu_seconds_total"), 0);
    EXPECT_GT(sample(scrape.body, "process_start_time_seconds"), 1.7e9);
    EXPECT_EQ(sample(scrape.body, "huxiao_alarms_acked_total"), 1);
    EXPECT_EQ(sample(scrape.body, "huxiao_write_dead_letters_total"), 0);
    // The alarm's batch, at least; the batching counters are there (sample()
    // is -1 for a series that is missing).
    EXPECT_GE(sample(scrape.body, "huxiao_write_batches_total"), 1);
    EXPECT_GE(sample(scrape.body, "huxiao_write_batches_pipelined_total"), 0);
    EXPECT_GE(sample(scrape.body, "huxiao_write_records_held_for_key_total"), 0);
}

}  // namespace
}  // namespace huxiao::test
