// The write path when PostgreSQL refuses writes or is gone (issue #8 items 6
// and 7), against the real server and a PostgreSQL cluster of the test's own
// (ALTER SYSTEM and stopping the cluster must disturb no other test):
//  - switched read-only for about 20 s while a unit accepts, arrives and
//    clears: every event is in the timeline exactly once afterwards;
//  - down when the alarm arrives: the unit is still offered at once, and once
//    the database is back the incident and its events are recorded exactly
//    once, and are still there after a restart.
// Waits are on conditions (polling the database or reading the next frame),
// never on durations.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class WritePathOutage : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("huxiao-writepath");
        certs_ = std::make_unique<CertFactory>(dir_ / "certs");
        cert_ = certs_->terminal("T-1");
        config_ = test_config(cluster_.url(), *certs_);
        config_["dispatch"] = {{"offer_timeout_s", 60}, {"arrival_radius_m", 150}};
        std::ofstream(dir_ / "huxiao.json") << config_.dump(2);
        std::ofstream(dir_ / "registry.json") << kSmallRegistry;
        auto imported = run_huxiaod({"import", "--config", (dir_ / "huxiao.json").string(),
                                     (dir_ / "registry.json").string()});
        ASSERT_EQ(imported.status, 0) << imported.err;
        auto token = run_huxiaod({"token", "create", "--config", (dir_ / "huxiao.json").string(),
                                  "--role", "unit", "--name", "patrol-1", "--unit", "P-1"});
        ASSERT_EQ(token.status, 0) << token.err;
        unit_token_ = token.out.substr(0, token.out.find('\n'));
        server_ = std::make_unique<ServerProcess>(config_, dir_ / "server");
    }
    void TearDown() override {
        server_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // The superuser, allowed on a read-only server (the app's own URL asks
    // for a read-write session and would be refused).
    std::string admin_url() const {
        return "postgresql://postgres@127.0.0.1:" + std::to_string(cluster_.port()) +
               "/huxiao?target_session_attrs=any";
    }
    std::string scalar(const std::string& sql) {
        db::PgSync c(admin_url());
        return db::cell(c.exec(sql).get(), 0, 0);
    }
    // Polls until `sql` returns `expected` (bounded, so a bug fails the test).
    bool settles(const std::string& sql, const std::string& expected) {
        std::string last;
        const bool held = test::eventually(
            [&] {
                try {
                    last = scalar(sql);
                } catch (const std::exception&) {
                    return false;  // the database is coming back
                }
                return last == expected;
            },
            std::chrono::seconds(90), std::chrono::milliseconds(100));
        if (held) return true;
        ADD_FAILURE() << sql << " stayed at " << last << ", expected " << expected << "\n"
                      << server_->log();
        return false;
    }
    // Ends every session of huxiaod, so that nothing of before survives.
    void terminate_app_sessions() {
        scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
            "application_name = 'huxiaod' AND pid <> pg_backend_pid() AND usename = 'huxiao'");
    }

    std::unique_ptr<WsClient> unit_on_duty() {
        auto ws = std::make_unique<WsClient>(server_->api_port(), certs_->server_ca());
        if (!ws->connect("/ws/unit", unit_token_)) throw std::runtime_error("no WebSocket");
        if (!ws->read_type("welcome")) throw std::runtime_error("no welcome");
        ws->send({{"type", "position"}, {"lat", 30.59}, {"lon", 114.29}});
        ws->send({{"type", "availability"}, {"status", "available"}});
        // Messages of one unit are handled in order: once this is refused,
        // the two above are in effect.
        ws->send({{"type", "arrived"}, {"incident", "I-sync"}});
        auto sync = ws->read_type("error");
        if (!sync || (*sync)["ref"] != "I-sync") throw std::runtime_error("unit not in service");
        return ws;
    }

    // The next frame that is not a status push.
    static std::optional<json> answer(TerminalClient& t) {
        std::optional<json> frame;
        do {
            frame = t.read_frame(std::chrono::seconds(20));
        } while (frame && (*frame)["type"] == "status");
        return frame;
    }

    // Reads status pushes until one says `state`.
    static bool status_until(TerminalClient& t, const std::string& state) {
        for (int i = 0; i < 20; ++i) {
            auto s = t.read_frame_of_type("status", std::chrono::seconds(20));
            if (!s) return false;
            if ((*s)["state"] == state) return true;
        }
        return false;
    }

    // Sends `id` until it is acked, as a terminal does after `unavailable`.
    std::optional<json> retry_until_acked(TerminalClient& t, const std::string& id) {
        for (int attempt = 0; attempt < 120; ++attempt) {
            t.send({{"type", "alarm"}, {"id", id}, {"kind", "medical"}});
            auto a = answer(t);
            if (!a) return std::nullopt;
            if ((*a)["type"] == "ack") return a;
            EXPECT_EQ((*a)["code"], "unavailable") << a->dump();
            std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a terminal's pause
        }
        return std::nullopt;
    }

    // Every event type of `incident` with how often it was stored, in order
    // of first appearance: "type:count,...".
    std::string timeline_counts(const std::string& incident) {
        return scalar(
            "SELECT string_agg(type || ':' || n, ',' ORDER BY first) FROM (SELECT type, "
            "count(*) AS n, min(seq) AS first FROM incident_events WHERE incident_id = '" +
            incident + "' GROUP BY type) t");
    }

    ThrowawayCluster cluster_;
    std::filesystem::path dir_;
    std::unique_ptr<CertFactory> certs_;
    CertFactory::Pair cert_;
    json config_;
    std::string unit_token_;
    std::unique_ptr<ServerProcess> server_;
};

TEST_F(WritePathOutage, ReadOnlyForTwentySecondsWhileAUnitWorksLosesNoEvent) {
    auto unit = unit_on_duty();
    TerminalClient t(server_->terminal_port(), &cert_, certs_->server_ca());
    t.connect_and_hello("T-1");
    t.send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "medical"}});
    auto ack = answer(t);
    ASSERT_TRUE(ack && (*ack)["type"] == "ack") << (ack ? ack->dump() : "") << server_->log();
    const std::string incident = (*ack)["incident"];
    auto offer = unit->read_type("offer");
    ASSERT_TRUE(offer);
    ASSERT_TRUE(settles("SELECT count(*) FROM incident_events WHERE incident_id = '" + incident +
                            "' AND type = 'offer_sent'",
                        "1"));

    // The database turns read-only (as a primary demoted by a failover would).
    const auto switched = Clock::now();
    {
        db::PgSync admin(admin_url());
        admin.exec("ALTER SYSTEM SET default_transaction_read_only = on");
        admin.exec("SELECT pg_reload_conf()");
    }
    // pg_reload_conf() only asks the postmaster; once a new session sees the
    // setting, the postmaster has reloaded and signalled every backend, and
    // the server's sessions take it at their next command.
    ASSERT_TRUE(settles("SHOW default_transaction_read_only", "on"));
    // Open sessions see it at their next transaction (25006 on write)...
    unit->send({{"type", "accept"}, {"incident", incident}});
    ASSERT_TRUE(status_until(t, "accepted"));  // dispatching goes on
    // ... and new ones are refused by target_session_attrs=read-write.
    terminate_app_sessions();
    unit->send({{"type", "en_route"}, {"incident", incident}});
    unit->send({{"type", "arrived"}, {"incident", incident}});
    unit->send({{"type", "clear"}, {"incident", incident}, {"outcome", "false alarm"}});
    ASSERT_TRUE(unit->read_type("incident_closed")) << server_->log();
    EXPECT_EQ(scalar("SELECT count(*) FROM incident_events WHERE incident_id = '" + incident +
                     "' AND type IN ('unit_accepted', 'unit_cleared', 'resolved')"),
              "0")
        << "nothing can be written while the database is read-only";
    // Hold the outage for the scenario's 20 s (a duration of the scenario,
    // not something the test waits for or asserts).
    std::this_thread::sleep_for(std::chrono::seconds(20) - (Clock::now() - switched));

    {
        db::PgSync admin(admin_url());
        admin.exec("SET default_transaction_read_only = off");
        admin.exec("ALTER SYSTEM RESET default_transaction_read_only");
        admin.exec("SELECT pg_reload_conf()");
    }
    ASSERT_TRUE(settles("SELECT count(*) FROM incident_events WHERE incident_id = '" + incident +
                            "' AND type = 'resolved'",
                        "1"));
    EXPECT_EQ(timeline_counts(incident),
              "alarm_received:1,offer_sent:1,unit_accepted:1,unit_en_route:1,unit_arrived:1,"
              "unit_cleared:1,resolved:1");
    EXPECT_EQ(scalar("SELECT state || ' ' || (closed_at IS NOT NULL)::text FROM incidents WHERE "
                     "id = '" +
                     incident + "'"),
              "resolved true");
    EXPECT_EQ(scalar("SELECT count(*) FROM dead_letters"), "0") << server_->log();
}

TEST_F(WritePathOutage, AlarmWhileTheDatabaseIsDownIsOfferedAtOnceAndRecordedOnceAfter) {
    auto unit = unit_on_duty();
    TerminalClient t(server_->terminal_port(), &cert_, certs_->server_ca());
    t.connect_and_hello("T-1");

    cluster_.stop();
    t.send({{"type", "alarm"}, {"id", "A-1"}, {"kind", "medical"}});
    // Dispatch does not wait for the commit: the unit is offered the incident...
    auto offer = unit->read_type("offer");
    ASSERT_TRUE(offer) << server_->log();
    const std::string incident = (*offer)["incident"];
    // ... while the terminal is told to retry, never acked.
    auto first = answer(t);
    ASSERT_TRUE(first);
    EXPECT_EQ((*first)["type"], "error");
    EXPECT_EQ((*first)["code"], "unavailable");
    unit->send({{"type", "accept"}, {"incident", incident}});
    ASSERT_TRUE(status_until(t, "accepted"));

    cluster_.start();
    auto ack = retry_until_acked(t, "A-1");
    ASSERT_TRUE(ack) << server_->log();
    EXPECT_EQ((*ack)["incident"], incident) << "the retry joined the record already queued";
    ASSERT_TRUE(settles("SELECT count(*) FROM incident_events WHERE incident_id = '" + incident +
                            "' AND type = 'unit_accepted'",
                        "1"));
    const std::string expected = "alarm_received:1,offer_sent:1,unit_accepted:1";
    EXPECT_EQ(timeline_counts(incident), expected);
    EXPECT_EQ(scalar("SELECT count(*) FROM incidents"), "1");
    EXPECT_EQ(scalar("SELECT count(*) FROM terminal_events WHERE event_id = 'A-1'"), "1");

    // After a restart the incident is there, open, with all its events, and
    // nothing is written twice.
    server_->terminate();
    server_ = std::make_unique<ServerProcess>(config_, dir_ / "server");
    EXPECT_EQ(timeline_counts(incident), expected);
    EXPECT_EQ(
        scalar("SELECT (closed_at IS NULL)::text FROM incidents WHERE id = '" + incident + "'"),
        "true");
    EXPECT_EQ(scalar("SELECT count(*) FROM dead_letters"), "0");
}

}  // namespace
}  // namespace huxiao::test
