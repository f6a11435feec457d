// Contract §8 on the database side: the replicated PostgreSQL of tools/ha.sh
// loses its primary and the multi-host URL writes again to the promoted
// synchronous standby, with every committed row there; and a real huxiaod on
// that URL acks alarms before and after the primary's node dies, both in
// the database afterwards (contract §3's promise across a failover). A hung
// primary that comes back must follow, not undo, the promoted standby. One
// cluster for the whole story: starting one takes the longest.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/support/fixtures.hpp"
#include "tests/support/ha_cluster.hpp"

namespace huxiao::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Polls `done` until it holds or `bound` passes; asserts nothing about time.
bool poll_until(std::chrono::seconds bound, const std::function<bool()>& done) {
    const auto until = Clock::now() + bound;
    while (Clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
}

// One write through the multi-host URL; false while no primary takes it.
bool try_insert(const std::string& url, const std::string& value) {
    try {
        db::PgSync c(url, 2);
        c.exec("INSERT INTO ha_probe (v) VALUES ($1)", {value});
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

std::string scalar(const std::string& url, const std::string& sql,
                   const std::vector<std::optional<std::string>>& params = {}) {
    db::PgSync c(url);
    auto r = c.exec(sql, params);
    return db::cell(r.get(), 0, 0);
}

// Progress on stderr, with the time since the test began: where the minute
// goes (shown by ctest --output-on-failure; nothing asserts on it).
void note(const char* what) {
    static const auto start = Clock::now();
    std::fprintf(stderr, "[ha +%5.1fs] %s\n",
                 std::chrono::duration<double>(Clock::now() - start).count(), what);
}

json alarm(const std::string& id) { return {{"type", "alarm"}, {"id", id}, {"kind", "assault"}}; }

// Sends the alarm until it is acked, as a terminal does: `unavailable` (no
// durable commit yet) means "retry the same id". Status pushes are skipped.
// The healed cluster's synchronous standbys: config/patroni-dcs.json asks for
// synchronous_node_count 2, so with three nodes both replicas are synchronous
// (then the promoted one is the more advanced and the other needs no rewind).
std::vector<std::string> synchronous_standbys(const HaCluster& cluster) {
    auto names = cluster.names_with_role("sync_standby");
    EXPECT_EQ(names.size(), 2U) << cluster.diagnostics();
    return names;
}

bool is_one_of(const std::string& name, const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::optional<json> raise_until_acked(TerminalClient& t, const std::string& id,
                                      std::chrono::seconds bound) {
    const auto until = Clock::now() + bound;
    while (Clock::now() < until) {
        if (!t.send(alarm(id))) return std::nullopt;
        std::optional<json> answer;
        do {
            answer = t.read_frame(std::chrono::seconds(15));
        } while (answer && (*answer)["type"] == "status");
        if (!answer) return std::nullopt;
        if ((*answer)["type"] == "ack" && (*answer)["id"] == id) return answer;
        if ((*answer)["type"] != "error" || (*answer)["code"] != "unavailable") return answer;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a terminal's retry pause
    }
    return std::nullopt;
}

TEST(HaFailover, ThePromotedSynchronousStandbyHasEveryCommitAndHuxiaodAcksAcrossIt) {
    note("starting the cluster");
    HaCluster cluster;
    note("cluster healthy");
    const std::string url = cluster.url();
    db::PgSync(url).exec("CREATE TABLE ha_probe (id bigserial PRIMARY KEY, v text NOT NULL)");
    const auto row_count = [&](const std::string& v) {
        return scalar(url, "SELECT count(*) FROM ha_probe WHERE v = $1", {v});
    };

    // --- 1. kill -9 of the primary's postmaster (Patroni lives on) ----------
    {
        SCOPED_TRACE("postmaster kill -9");
        ASSERT_TRUE(try_insert(url, "before-crash")) << cluster.diagnostics();
        auto primary = cluster.with_role("leader");
        const auto standbys = synchronous_standbys(cluster);
        ASSERT_TRUE(primary && primary->postmaster_pid > 0) << cluster.diagnostics();

        ASSERT_EQ(::kill(primary->postmaster_pid, SIGKILL), 0);
        note("killed the primary's postmaster");
        ASSERT_TRUE(
            poll_until(std::chrono::seconds(60), [&] { return try_insert(url, "after-crash"); }))
            << "the URL never wrote again\n"
            << cluster.diagnostics();
        note("the URL writes again");

        auto promoted = cluster.with_role("leader");
        ASSERT_TRUE(promoted) << cluster.diagnostics();
        EXPECT_NE(promoted->name, primary->name);
        // Only the synchronous standbys have every commit; Patroni must pick one.
        EXPECT_TRUE(is_one_of(promoted->name, standbys)) << cluster.diagnostics();
        EXPECT_EQ(row_count("before-crash"), "1");
        EXPECT_EQ(scalar(url, "SELECT inet_server_port()::text"), std::to_string(promoted->port));
    }
    // The crashed node rejoins (pg_rewind) before the next fault: strict
    // synchronous mode needs a standby for the next primary's commits.
    ASSERT_TRUE(cluster.heal()) << cluster.diagnostics();
    note("healed");

    // --- 2. the primary's node hangs (SIGSTOP), then comes back (SIGCONT) -----
    // A standby is promoted once the hung primary's leader key expires. The
    // old primary, resumed, must step down and follow, not take its key back:
    // that would rewind what the new primary committed meanwhile (the etcd3
    // bug of Patroni 3.0.2 that tools/ha.sh avoids, see choose_dcs).
    {
        SCOPED_TRACE("SIGSTOP, then SIGCONT, of the primary's node");
        auto primary = cluster.with_role("leader");
        const auto standbys = synchronous_standbys(cluster);
        ASSERT_TRUE(primary) << cluster.diagnostics();
        ASSERT_TRUE(cluster.fault(primary->name, "pause")) << cluster.diagnostics();
        note("paused the primary's node");
        const bool wrote =
            poll_until(std::chrono::seconds(60), [&] { return try_insert(url, "during-pause"); });
        ASSERT_TRUE(cluster.fault(primary->name, "resume")) << cluster.diagnostics();
        ASSERT_TRUE(wrote) << "the URL never wrote again\n" << cluster.diagnostics();
        note("the URL writes again; resumed the old primary");

        auto promoted = cluster.with_role("leader");
        ASSERT_TRUE(promoted) << cluster.diagnostics();
        EXPECT_TRUE(is_one_of(promoted->name, standbys)) << cluster.diagnostics();
        const auto old_primary_follows = [&] {
            for (const auto& n : cluster.nodes())
                if (n.name == primary->name)
                    return n.state == "running" &&
                           (n.role == "replica" || n.role == "sync_standby");
            return false;
        };
        ASSERT_TRUE(poll_until(std::chrono::seconds(60), old_primary_follows))
            << "the resumed old primary did not become a replica\n"
            << cluster.diagnostics();
        note("the old primary follows");
        auto leader_after = cluster.with_role("leader");
        ASSERT_TRUE(leader_after) << cluster.diagnostics();
        EXPECT_EQ(leader_after->name, promoted->name) << cluster.diagnostics();
        EXPECT_EQ(row_count("during-pause"), "1");
        EXPECT_EQ(row_count("after-crash"), "1");
    }
    ASSERT_TRUE(cluster.heal()) << cluster.diagnostics();
    note("healed");

    // --- 3. huxiaod on the multi-host URL; the primary's node dies -----------
    SCOPED_TRACE("huxiaod across a kill -9 of the primary's Patroni and postmaster");
    const auto dir = make_temp_dir("huxiao-ha");
    CertFactory certs(dir / "certs");
    auto cert1 = certs.terminal("T-1");
    auto cert2 = certs.terminal("T-2");
    json config = test_config(url, certs);
    std::ofstream(dir / "huxiao.json") << config.dump(2);
    std::ofstream(dir / "registry.json") << kSmallRegistry;
    auto imported = run_huxiaod(
        {"import", "--config", (dir / "huxiao.json").string(), (dir / "registry.json").string()});
    ASSERT_EQ(imported.status, 0) << imported.err;

    ServerProcess server(config, dir / "server");
    TerminalClient t1(server.terminal_port(), &cert1, certs.server_ca());
    t1.connect_and_hello("T-1");
    auto first = raise_until_acked(t1, "A-1", std::chrono::seconds(30));
    ASSERT_TRUE(first && (*first)["type"] == "ack") << (first ? first->dump() : server.log());

    auto primary = cluster.with_role("leader");
    const auto standbys = synchronous_standbys(cluster);
    ASSERT_TRUE(primary) << cluster.diagnostics();
    ASSERT_TRUE(cluster.fault(primary->name, "kill-node")) << cluster.diagnostics();
    note("A-1 acked; killed the primary's node");

    // Another school's alarm while there is no primary: it is acked once a
    // new primary has it durably, never before.
    TerminalClient t2(server.terminal_port(), &cert2, certs.server_ca());
    t2.connect_and_hello("T-2");
    auto second = raise_until_acked(t2, "A-2", std::chrono::seconds(90));
    ASSERT_TRUE(second && (*second)["type"] == "ack")
        << (second ? second->dump() : "no ack") << "\n"
        << cluster.diagnostics() << "\n--- huxiaod\n"
        << server.log();
    note("A-2 acked");

    auto promoted = cluster.with_role("leader");
    ASSERT_TRUE(promoted) << cluster.diagnostics();
    EXPECT_TRUE(is_one_of(promoted->name, standbys)) << cluster.diagnostics();
    // Both acked alarms, and the incidents their acks named, are in the
    // database the new primary writes to.
    for (const auto* ack : {&*first, &*second}) {
        EXPECT_EQ(scalar(url, "SELECT count(*) FROM terminal_events WHERE event_id = $1",
                         {(*ack)["id"].get<std::string>()}),
                  "1")
            << ack->dump();
        EXPECT_EQ(scalar(url, "SELECT count(*) FROM incidents WHERE id = $1",
                         {(*ack)["incident"].get<std::string>()}),
                  "1")
            << ack->dump();
    }
    EXPECT_NE((*first)["incident"], (*second)["incident"]);
    server.terminate();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace huxiao::test
