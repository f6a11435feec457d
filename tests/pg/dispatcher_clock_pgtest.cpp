// The Dispatcher on an injected clock (server/base/clock.hpp), with the real
// IncidentLog on the test's PostgreSQL: time passes when the test moves the
// ManualClock, and the test waits for the transition it causes instead of
// sleeping through a supervision window. The clock starts in 2030, so a time
// read from the system clock anywhere on the way would show in the rows.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "server/app/dispatcher.hpp"
#include "server/app/registry_holder.hpp"
#include "server/base/clock.hpp"
#include "server/base/metrics.hpp"
#include "server/db/incident_log.hpp"
#include "server/db/migrations.hpp"
#include "server/db/registry_store.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr UnixMicros k2030 = 1'893'456'000'000'000;  // 2030-01-01T00:00:00Z

// A terminal's session as the Dispatcher sees it; nothing is sent here.
class SilentPort final : public TerminalPort {
  public:
    explicit SilentPort(std::string id) : id_(std::move(id)) {}
    void send(std::string) override {}
    const std::string& terminal_id() const override { return id_; }
    void revoke() override {}

  private:
    std::string id_;
};

class DispatcherClock : public ::testing::Test {
  protected:
    void SetUp() override {
        db::PgSync c(db_.url());
        db::apply_migrations(c);
        c.exec("INSERT INTO districts (id, name) VALUES ('D-1', 'One')");
        c.exec(
            "INSERT INTO schools (id, name, district_id, lat, lon) "
            "VALUES ('S-1', 'School', 'D-1', 30, 120)");
        c.exec("INSERT INTO terminals (id, school_id) VALUES ('T-1', 'S-1'), ('T-2', 'S-1')");
        registry_ = std::make_unique<RegistryHolder>(db::load_registry(c));

        config_.database.url = db_.url();
        config_.supervision.heartbeat_s = 30;
        config_.supervision.missed_heartbeats = 3;  // offline after 90 s of silence
        log_ = std::make_unique<db::IncidentLog>(io_.get_executor(), config_.database);
        dispatcher_ = std::make_unique<Dispatcher>(io_.get_executor(), config_, *log_, *registry_,
                                                   metrics_, clock_);
        log_->start();
        dispatcher_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        dispatcher_->stop();
        std::atomic<bool> drained{false};
        log_->drain(5s, [&] { drained = true; });
        EXPECT_TRUE(eventually([&] { return drained.load(); }));
        work_.reset();
        io_.stop();
        thread_.join();
    }

    // A terminal's recorded transitions, "true|false <at>".
    std::vector<std::string> transitions(const std::string& terminal) const {
        return db_.column(
            "SELECT online::text || ' ' || to_char(at AT TIME ZONE 'UTC', 'HH24:MI:SS') "
            "FROM terminal_status_events WHERE terminal_id = $1 ORDER BY seq",
            {terminal});
    }
    // Waits until `terminal` has `count` transitions recorded; returns them.
    std::vector<std::string> transitions(const std::string& terminal, std::size_t count) const {
        std::vector<std::string> seen;
        EXPECT_TRUE(eventually([&] { return (seen = transitions(terminal)).size() >= count; }))
            << terminal << " has " << seen.size() << " transitions, waited for " << count;
        return seen;
    }

    TestDatabase db_;
    Config config_;
    Metrics metrics_;
    ManualClock clock_{k2030};
    std::unique_ptr<RegistryHolder> registry_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::unique_ptr<db::IncidentLog> log_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::thread thread_;
};

// Offline after 90 s of silence (3 missed heartbeats of 30 s), by the clock
// the Dispatcher was given: the test moves it from 2030-01-01T00:00:00.
TEST_F(DispatcherClock, TerminalsGoOfflineWhenTheInjectedClockPassesTheirWindow) {
    using Rows = std::vector<std::string>;
    dispatcher_->terminal_online(std::make_shared<SilentPort>("T-1"), "S-1");
    EXPECT_EQ(transitions("T-1", 1), (Rows{"true 00:00:00"}));
    clock_.advance(30s);
    dispatcher_->terminal_online(std::make_shared<SilentPort>("T-2"), "S-1");
    EXPECT_EQ(transitions("T-2", 1), (Rows{"true 00:00:30"}));

    // +100 s: T-1 has been silent 100 s, T-2 70 s. The Dispatcher's periodic
    // tick (each second of real time) reads the moved clock; had it read the
    // system clock (2026), no window would ever pass.
    clock_.advance(70s);
    EXPECT_EQ(transitions("T-1", 2), (Rows{"true 00:00:00", "false 00:00:00"}));
    // The clock stands still at +100 s, so no later tick can take T-2 offline.
    EXPECT_EQ(transitions("T-2"), (Rows{"true 00:00:30"}));

    clock_.advance(21s);  // T-2 silent 91 s
    EXPECT_EQ(transitions("T-2", 2), (Rows{"true 00:00:30", "false 00:00:30"}));
}

}  // namespace
}  // namespace huxiao::test
