// What a takeover reads back (server/db/recovery.cpp) on sql/014's indexes:
// each terminal's latest alarm of an open incident and whether it has older
// ones, the timeline rows replay uses, and the partial index's predicate
// kept in step with the types replay passes over.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/dispatch/replay.hpp"
#include "server/db/migrations.hpp"
#include "server/db/pg_connection.hpp"
#include "server/db/recovery.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

TEST(RecoveryIndexes, TheReplayedEventsIndexLeavesOutExactlyWhatReplayPassesOver) {
    TestDatabase database;
    db::PgSync c(database.url());
    db::apply_migrations(c);
    const std::string predicate =
        db::cell(c.exec("SELECT pg_get_expr(indpred, indrelid) FROM pg_index"
                        " WHERE indexrelid = 'incident_events_replayed_idx'::regclass")
                     .get(),
                 0, 0);
    for (std::string_view type : dispatch::kTypesReplayPassesOver) {
        EXPECT_NE(predicate.find("'" + std::string(type) + "'"), std::string::npos)
            << type << " is passed over by replay but not left out of the index: " << predicate;
    }
    EXPECT_EQ(static_cast<std::size_t>(std::count(predicate.begin(), predicate.end(), '\'')),
              2 * dispatch::kTypesReplayPassesOver.size())
        << "the index leaves out a type that replay reads: " << predicate;
    EXPECT_EQ(db::replay_passes_over_sql(),
              "'alarm_received', 'repeat_alarm', 'cancel_requested', 'note'");
}

TEST(RecoveryIndexes, EachTerminalsLatestAlarmAndWhetherItHasOlderOnes) {
    TestDatabase database;
    db::PgSync c(database.url());
    db::apply_migrations(c);
    for (const char* sql :
         {"INSERT INTO districts (id, name) VALUES ('D', 'D')",
          "INSERT INTO schools (id, name, district_id, lat, lon) VALUES"
          "  ('S1', 'S1', 'D', 0, 0), ('S2', 'S2', 'D', 0, 0)",
          "INSERT INTO incidents (id, school_id, district_id, kind, received_at, last_alarm_at,"
          "                       closed_at) VALUES"
          "  ('I-open', 'S1', 'D', 'intrusion', '2026-01-01 10:00Z', '2026-01-01 10:00Z', NULL),"
          "  ('I-closed', 'S2', 'D', 'intrusion', '2026-01-01 09:00Z', '2026-01-01 09:00Z',"
          "   '2026-01-01 09:30Z')",
          // T-1: three alarms and a cancel after them; T-2: one alarm; T-3
          // only in the closed incident.
          "INSERT INTO terminal_events (terminal_id, event_id, incident_id, kind, received_at)"
          " VALUES ('T-1', 'a1', 'I-open', 'alarm', '2026-01-01 10:00Z'),"
          "        ('T-1', 'a3', 'I-open', 'alarm', '2026-01-01 10:02Z'),"
          "        ('T-1', 'a2', 'I-open', 'alarm', '2026-01-01 10:01Z'),"
          "        ('T-1', 'c1', 'I-open', 'cancel', '2026-01-01 10:03Z'),"
          "        ('T-2', 'b1', 'I-open', 'alarm', '2026-01-01 10:05Z'),"
          "        ('T-3', 'x1', 'I-closed', 'alarm', '2026-01-01 09:00Z')",
          "INSERT INTO incident_events (incident_id, at, type, actor, details) VALUES"
          "  ('I-open', '2026-01-01 10:00Z', 'alarm_received', 'T-1', '{}'),"
          "  ('I-open', '2026-01-01 10:01Z', 'repeat_alarm', 'T-1', '{}'),"
          "  ('I-open', '2026-01-01 10:02Z', 'no_unit_available', 'system', '{}')"}) {
        c.exec(sql);
    }

    const db::RecoveredState state = db::load_open_incidents(c);
    ASSERT_EQ(state.open_incidents.size(), 1u);
    const RecoveredIncident& incident = state.open_incidents[0];
    EXPECT_EQ(incident.header.id, "I-open");
    // Latest last (AlarmTriage::restore): T-1's a3, then T-2's b1.
    ASSERT_EQ(incident.triage.alarms.size(), 2u);
    EXPECT_EQ(incident.triage.alarms[0], std::make_pair(std::string("T-1"), std::string("a3")));
    EXPECT_EQ(incident.triage.alarms[1], std::make_pair(std::string("T-2"), std::string("b1")));
    EXPECT_EQ(incident.terminals_with_older_alarms, std::vector<std::string>{"T-1"});
    EXPECT_EQ(incident.triage.last_alarm_at, 1767261900000000);  // 10:05, b1
    // The timeline without what replay passes over.
    ASSERT_EQ(incident.timeline.size(), 1u);
    EXPECT_EQ(incident.timeline[0].type, "no_unit_available");
}

}  // namespace
}  // namespace huxiao::test
