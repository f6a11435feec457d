// Alarm triage: new incident, repeat alarm or retransmission (contract §3 and
// §6, common/intake), and the incident id generator.
#include "common/intake/alarm_triage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/util/time.hpp"

namespace huxiao {
namespace {

constexpr UnixMicros kSecond = kMicrosPerSecond;
constexpr UnixMicros kDay = 86400 * kSecond;
constexpr UnixMicros kT0 = 1'788'247'800LL * kSecond;  // 2026-09-01T07:30:00Z
constexpr int kWindowS = 120;

TriageInput input(const std::string& terminal, const std::string& alarm_id,
                  const std::string& school, UnixMicros at, bool drill = false) {
    return {terminal, alarm_id, school, drill, at};
}

// The incident of an outcome that must be of type T.
template <class T>
std::string expect(const TriageOutcome& outcome) {
    if (!std::holds_alternative<T>(outcome)) {
        ADD_FAILURE() << "outcome is of another type (index " << outcome.index() << ")";
        return {};
    }
    return std::get<T>(outcome).incident;
}

// ---------------------------------------------------------------- triage

TEST(AlarmTriage, FirstAlarmOpensAnIncident) {
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    EXPECT_FALSE(incident.empty());
    EXPECT_EQ(triage.open_incidents(), 1u);
    EXPECT_EQ(triage.incident_of("T-1", "A-1"), incident);
}

TEST(AlarmTriage, SecondAlarmOfTheSchoolWithinTheWindowJoins) {
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    // Another terminal of the same school, 30 s later.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", kT0 + 30 * kSecond))),
              incident);
    // The same terminal, a new alarm id.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 60 * kSecond))),
              incident);
    EXPECT_EQ(triage.open_incidents(), 1u);
    EXPECT_EQ(triage.incident_of("T-2", "B-1"), incident);
    EXPECT_EQ(triage.incident_of("T-1", "A-2"), incident);
}

TEST(AlarmTriage, WindowBoundaryIsInclusive) {
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    EXPECT_EQ(
        expect<RepeatAlarm>(triage.triage(input("T-1", "A-2", "S-1", kT0 + kWindowS * kSecond))),
        incident);
}

TEST(AlarmTriage, AlarmOutsideTheWindowOpensANewIncident) {
    AlarmTriage triage(kWindowS);
    const std::string first = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const std::string second = expect<NewIncident>(
        triage.triage(input("T-1", "A-2", "S-1", kT0 + kWindowS * kSecond + 1)));
    EXPECT_NE(first, second);
    EXPECT_EQ(triage.open_incidents(), 2u);
    EXPECT_EQ(triage.incident_of("T-1", "A-1"), first);
    EXPECT_EQ(triage.incident_of("T-1", "A-2"), second);
}

TEST(AlarmTriage, WindowIsMeasuredFromTheLatestAlarmOfTheIncident) {
    // A school pressing again and again keeps its one incident alive.
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    for (int i = 1; i <= 5; ++i) {
        EXPECT_EQ(expect<RepeatAlarm>(triage.triage(
                      input("T-1", "A-" + std::to_string(i + 1), "S-1", kT0 + i * 100 * kSecond))),
                  incident)
            << i;
    }
    EXPECT_EQ(triage.open_incidents(), 1u);
}

TEST(AlarmTriage, AlarmAfterTheOpenIncidentWentQuietOpensANewOneAndLaterAlarmsJoinTheNewest) {
    AlarmTriage triage(kWindowS);
    const std::string old_one = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const UnixMicros t1 = kT0 + 600 * kSecond;
    const std::string new_one = expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", t1)));
    EXPECT_NE(old_one, new_one);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", t1 + 10 * kSecond))),
              new_one);
}

TEST(AlarmTriage, DifferentSchoolsNeverJoin) {
    AlarmTriage triage(kWindowS);
    const std::string a = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const std::string b = expect<NewIncident>(triage.triage(input("T-9", "A-1", "S-2", kT0 + 1)));
    EXPECT_NE(a, b);
    EXPECT_EQ(triage.open_incidents(), 2u);
}

TEST(AlarmTriage, DrillNeverJoinsARealIncident) {
    AlarmTriage triage(kWindowS);
    const std::string real = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const std::string drill =
        expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + kSecond, true)));
    EXPECT_NE(real, drill);
    EXPECT_EQ(triage.open_incidents(), 2u);
    // Each later alarm joins the incident of its own kind.
    EXPECT_EQ(
        expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", kT0 + 2 * kSecond, true))),
        drill);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-2", "S-1", kT0 + 3 * kSecond))),
              real);
}

TEST(AlarmTriage, RealAlarmNeverJoinsADrill) {
    AlarmTriage triage(kWindowS);
    const std::string drill =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0, true)));
    const std::string real =
        expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 1)));
    EXPECT_NE(real, drill);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-1", "A-3", "S-1", kT0 + 2))), real);
}

TEST(AlarmTriage, RetransmissionReturnsTheSameIncidentAndRecordsNothing) {
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-17", "S-1", kT0)));
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-17", "S-1", kT0 + kSecond))),
              incident);
    // Even long after the window, a retransmission is still a retransmission.
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-17", "S-1", kT0 + kDay))),
              incident);
    EXPECT_EQ(triage.open_incidents(), 1u);
}

TEST(AlarmTriage, RetransmissionOfARepeatAlarmReturnsTheJoinedIncident) {
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", kT0 + kSecond)));
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-2", "B-1", "S-1", kT0 + 2 * kSecond))),
              incident);
}

TEST(AlarmTriage, RetransmissionDoesNotExtendTheWindow) {
    AlarmTriage triage(kWindowS);
    const std::string first = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    expect<Retransmission>(triage.triage(input("T-1", "A-1", "S-1", kT0 + 100 * kSecond)));
    const std::string second =
        expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 150 * kSecond)));
    EXPECT_NE(first, second);
}

TEST(AlarmTriage, AlarmIdsAreScopedToTheirTerminal) {
    // "A-1" from two terminals of two schools: two different alarms.
    AlarmTriage triage(kWindowS);
    const std::string a = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const std::string b = expect<NewIncident>(triage.triage(input("T-2", "A-1", "S-2", kT0)));
    EXPECT_NE(a, b);
    EXPECT_EQ(triage.incident_of("T-1", "A-1"), a);
    EXPECT_EQ(triage.incident_of("T-2", "A-1"), b);
    // Same alarm id from another terminal of the same school is a repeat, not a retransmission.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-3", "A-1", "S-1", kT0 + kSecond))), a);
}

TEST(AlarmTriage, KeysDoNotCollideAcrossTheSeparator) {
    // ("T-1", "x-A") and ("T-1x", "-A")-style pairs must stay distinct.
    AlarmTriage triage(kWindowS);
    const std::string a = expect<NewIncident>(triage.triage(input("T", "1A", "S-1", kT0)));
    const std::string b = expect<NewIncident>(triage.triage(input("T1", "A", "S-2", kT0)));
    EXPECT_NE(a, b);
}

TEST(AlarmTriage, ZeroWindowJoinsOnlySimultaneousAlarms) {
    AlarmTriage triage(0);
    const std::string a = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", kT0))), a);
    EXPECT_NE(expect<NewIncident>(triage.triage(input("T-2", "B-2", "S-1", kT0 + 1))), a);
}

TEST(AlarmTriage, LateArrivingAlarmJoinsWithoutMovingTheWindowBack) {
    AlarmTriage triage(kWindowS);
    const std::string incident =
        expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0 + 100 * kSecond)));
    // Received "earlier" (clock step): still the same school's open incident.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", kT0))), incident);
    // The window still runs from kT0 + 100 s.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-2", "S-1", kT0 + 220 * kSecond))),
              incident);
}

TEST(AlarmTriage, LargeWindowDoesNotOverflow) {
    AlarmTriage triage(86400);
    const std::string a = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-1", "A-2", "S-1", kT0 + kDay))), a);
    EXPECT_NE(expect<NewIncident>(triage.triage(input("T-1", "A-3", "S-1", kT0 + 3 * kDay))), a);
}

// ---------------------------------------------------------------- close

TEST(AlarmTriage, AfterCloseANewAlarmOpensANewIncident) {
    AlarmTriage triage(kWindowS);
    const std::string first = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    triage.close(first);
    EXPECT_EQ(triage.open_incidents(), 0u);
    const std::string second =
        expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + kSecond)));
    EXPECT_NE(first, second);
    EXPECT_EQ(triage.open_incidents(), 1u);
}

TEST(AlarmTriage, LateRetransmissionAfterCloseStillFindsTheClosedIncident) {
    AlarmTriage triage(kWindowS);
    const std::string first = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    triage.close(first);
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-1", "S-1", kT0 + kSecond))),
              first);
    EXPECT_EQ(triage.open_incidents(), 0u);
}

TEST(AlarmTriage, CloseRemovesOnlyThatIncident) {
    AlarmTriage triage(kWindowS);
    const std::string real = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const std::string drill =
        expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0, true)));
    const std::string other = expect<NewIncident>(triage.triage(input("T-5", "A-1", "S-2", kT0)));
    triage.close(drill);
    EXPECT_EQ(triage.open_incidents(), 2u);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-1", "A-3", "S-1", kT0 + kSecond))), real);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-5", "A-2", "S-2", kT0 + kSecond))), other);
    EXPECT_NE(expect<NewIncident>(triage.triage(input("T-1", "A-4", "S-1", kT0 + kSecond, true))),
              drill);
}

TEST(AlarmTriage, ClosingAnUnknownOrAlreadyClosedIncidentIsHarmless) {
    AlarmTriage triage(kWindowS);
    const std::string a = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    triage.close("I-nonexistent");
    EXPECT_EQ(triage.open_incidents(), 1u);
    triage.close(a);
    triage.close(a);
    EXPECT_EQ(triage.open_incidents(), 0u);
}

// ---------------------------------------------------------------- restore

TEST(AlarmTriage, RestoredIncidentIsJoinedByARepeatAlarm) {
    AlarmTriage triage(kWindowS);
    triage.restore({"I-20260901-RESTORED", "S-1", false, kT0, {{"T-1", "A-1"}, {"T-2", "B-1"}}});
    EXPECT_EQ(triage.open_incidents(), 1u);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 60 * kSecond))),
              "I-20260901-RESTORED");
}

TEST(AlarmTriage, RestoredAlarmIdsAreRetransmissions) {
    AlarmTriage triage(kWindowS);
    triage.restore({"I-R", "S-1", false, kT0, {{"T-1", "A-1"}, {"T-2", "B-1"}}});
    EXPECT_EQ(triage.incident_of("T-2", "B-1"), "I-R");
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-1", "S-1", kT0 + kDay))), "I-R");
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-2", "B-1", "S-1", kT0 + kDay))), "I-R");
}

TEST(AlarmTriage, RestoredIncidentUsesItsLastAlarmTimeForTheWindow) {
    AlarmTriage triage(kWindowS);
    triage.restore({"I-R", "S-1", false, kT0, {{"T-1", "A-1"}}});
    const std::string fresh =
        expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 121 * kSecond)));
    EXPECT_NE(fresh, "I-R");
}

TEST(AlarmTriage, RestoredDrillOnlyAbsorbsDrills) {
    AlarmTriage triage(kWindowS);
    triage.restore({"I-D", "S-1", true, kT0, {}});
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-1", "A-1", "S-1", kT0 + 1, true))), "I-D");
    EXPECT_NE(expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 2))), "I-D");
}

TEST(AlarmTriage, RestoredIncidentCanBeClosed) {
    AlarmTriage triage(kWindowS);
    triage.restore({"I-R", "S-1", false, kT0, {{"T-1", "A-1"}}});
    triage.close("I-R");
    EXPECT_EQ(triage.open_incidents(), 0u);
    EXPECT_NE(expect<NewIncident>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 1))), "I-R");
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-1", "S-1", kT0 + 2))), "I-R");
}

// A restart restores each terminal's latest alarm of an open incident; the
// terminals with older alarms there get Unverified for ids memory does not know.
void restore_with_older_alarms(AlarmTriage& triage) {
    triage.restore({"I-R", "S-1", false, kT0, {{"T-1", "A-5"}, {"T-2", "B-1"}}}, {"T-1"});
}

TEST(AlarmTriage, UnknownIdOfATerminalWithOlderAlarmsIsUnverifiedAndOpensNothing) {
    AlarmTriage triage(kWindowS);
    restore_with_older_alarms(triage);
    // After the window it would open a new incident; nobody sees that yet.
    const auto outcome = triage.triage(input("T-1", "A-2", "S-1", kT0 + 200 * kSecond));
    ASSERT_TRUE(std::holds_alternative<Unverified>(outcome));
    const Unverified u = std::get<Unverified>(outcome);
    EXPECT_FALSE(u.joins);
    EXPECT_NE(u.incident, "I-R");
    EXPECT_EQ(triage.open_incidents(), 1u);
    EXPECT_EQ(triage.proposal_of("T-1", "A-2"), u.incident);
    EXPECT_FALSE(triage.incident_of("T-1", "A-2"));
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-5");
    // The database found it: a retransmission of an alarm of I-R.
    EXPECT_EQ(triage.resolve("T-1", "A-2", "I-R", false), AlarmTriage::Resolution::duplicate);
    EXPECT_EQ(triage.open_incidents(), 1u);
    EXPECT_EQ(triage.incident_of("T-1", "A-2"), "I-R");
    EXPECT_FALSE(triage.proposal_of("T-1", "A-2"));
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-5");
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-2", "S-1", kT0 + kDay))), "I-R");
}

TEST(AlarmTriage, UnverifiedAlarmOpensItsIncidentWhenTheDatabaseRecordedIt) {
    AlarmTriage triage(kWindowS);
    restore_with_older_alarms(triage);
    const auto proposed = triage.triage(input("T-1", "A-6", "S-1", kT0 + 200 * kSecond));
    ASSERT_TRUE(std::holds_alternative<Unverified>(proposed));
    const std::string incident = std::get<Unverified>(proposed).incident;
    // A retry before the commit proposes the same.
    const auto retry = triage.triage(input("T-1", "A-6", "S-1", kT0 + 201 * kSecond));
    ASSERT_TRUE(std::holds_alternative<Unverified>(retry));
    EXPECT_EQ(std::get<Unverified>(retry).incident, incident);
    EXPECT_EQ(triage.resolve("T-1", "A-6", incident, true), AlarmTriage::Resolution::opened);
    EXPECT_EQ(triage.open_incidents(), 2u);
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-6");
    // The retry's commit finds it resolved already.
    EXPECT_EQ(triage.resolve("T-1", "A-6", incident, false), AlarmTriage::Resolution::none);
    // Now it is open like any other: the school's next alarm joins it.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-2", "S-1", kT0 + 210 * kSecond))),
              incident);
}

TEST(AlarmTriage, UnverifiedAlarmWithinTheWindowProposesToJoin) {
    AlarmTriage triage(kWindowS);
    restore_with_older_alarms(triage);
    const auto outcome = triage.triage(input("T-1", "A-7", "S-1", kT0 + 10 * kSecond));
    ASSERT_TRUE(std::holds_alternative<Unverified>(outcome));
    EXPECT_TRUE(std::get<Unverified>(outcome).joins);
    EXPECT_EQ(std::get<Unverified>(outcome).incident, "I-R");
    EXPECT_EQ(triage.resolve("T-1", "A-7", "I-R", true), AlarmTriage::Resolution::joined);
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-7");
    EXPECT_EQ(triage.open_incidents(), 1u);
    // Joined at kT0 + 10 s: the window now runs from there.
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-2", "S-1", kT0 + 125 * kSecond))),
              "I-R");
}

TEST(AlarmTriage, UnverifiedRetransmissionOfTheSameIncidentIsNotANewerAlarm) {
    AlarmTriage triage(kWindowS);
    restore_with_older_alarms(triage);
    ASSERT_TRUE(std::holds_alternative<Unverified>(
        triage.triage(input("T-1", "A-3", "S-1", kT0 + 10 * kSecond))));
    EXPECT_EQ(triage.resolve("T-1", "A-3", "I-R", false), AlarmTriage::Resolution::duplicate);
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-5");
}

TEST(AlarmTriage, TerminalsWhoseAlarmsWereAllRestoredAreTriagedAtOnce) {
    AlarmTriage triage(kWindowS);
    restore_with_older_alarms(triage);
    EXPECT_EQ(expect<RepeatAlarm>(triage.triage(input("T-2", "B-2", "S-1", kT0 + 10 * kSecond))),
              "I-R");
    const std::string other =
        expect<NewIncident>(triage.triage(input("T-3", "C-1", "S-2", kT0 + 10 * kSecond)));
    EXPECT_EQ(triage.incident_of("T-3", "C-1"), other);
    // The restored latest alarm itself is known.
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-5", "S-1", kT0 + kDay))), "I-R");
}

TEST(AlarmTriage, OlderAlarmsAreUnverifiedUntilADayAfterTheIncidentClosed) {
    AlarmTriage triage(kWindowS);
    restore_with_older_alarms(triage);
    triage.close("I-R");
    EXPECT_TRUE(std::holds_alternative<Unverified>(
        triage.triage(input("T-1", "A-2", "S-1", kT0 + kDay - kSecond))));
    // As forgotten alarm ids would be: afterwards the database alone answers.
    expect<NewIncident>(triage.triage(input("T-1", "A-8", "S-1", kT0 + kDay)));
}

// ---------------------------------------------------------------- correct

TEST(AlarmTriage, CorrectReplacesWhatTriageGuessed) {
    AlarmTriage triage(kWindowS);
    const std::string guessed = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    triage.correct("T-1", "A-1", "I-FROM-DB");
    EXPECT_EQ(triage.incident_of("T-1", "A-1"), "I-FROM-DB");
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-1", "S-1", kT0 + 1))),
              "I-FROM-DB");
    EXPECT_NE(guessed, "I-FROM-DB");
}

TEST(AlarmTriage, CorrectCanTeachAnAlarmIdNeverSeen) {
    AlarmTriage triage(kWindowS);
    EXPECT_FALSE(triage.incident_of("T-1", "A-9").has_value());
    triage.correct("T-1", "A-9", "I-OLD");
    EXPECT_EQ(expect<Retransmission>(triage.triage(input("T-1", "A-9", "S-1", kT0))), "I-OLD");
    EXPECT_EQ(triage.open_incidents(), 0u);
}

TEST(AlarmTriage, LatestOpenAlarmOfATerminalIsWhatANamelessCancelRefersTo) {
    AlarmTriage triage(kWindowS);
    EXPECT_FALSE(triage.latest_open_alarm("T-1"));
    const std::string first = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-1");
    expect<RepeatAlarm>(triage.triage(input("T-1", "A-2", "S-1", kT0 + 10 * kSecond)));
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-2");
    // A retransmission of an older alarm is not a newer alarm.
    expect<Retransmission>(triage.triage(input("T-1", "A-1", "S-1", kT0 + 20 * kSecond)));
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-2");
    // Another terminal of the school has its own.
    expect<RepeatAlarm>(triage.triage(input("T-2", "B-1", "S-1", kT0 + 30 * kSecond)));
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-2");
    EXPECT_EQ(triage.latest_open_alarm("T-2"), "B-1");
    // Once its incident is closed, there is nothing open to cancel.
    triage.close(first);
    EXPECT_FALSE(triage.latest_open_alarm("T-1"));
    EXPECT_FALSE(triage.latest_open_alarm("T-2"));
}

TEST(AlarmTriage, LatestOpenAlarmSurvivesARestartAndFollowsACorrection) {
    AlarmTriage triage(kWindowS);
    triage.restore({"I-R", "S-1", false, kT0, {{"T-1", "A-1"}, {"T-1", "A-2"}}});
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-2");  // the last one received
    // A3 was guessed into a new incident; the database says it belongs to I-R.
    const std::string guessed =
        expect<NewIncident>(triage.triage(input("T-1", "A-3", "S-1", kT0 + kDay)));
    triage.correct("T-1", "A-3", "I-R");
    triage.close(guessed);
    EXPECT_EQ(triage.latest_open_alarm("T-1"), "A-3");
}

TEST(AlarmTriage, IncidentOfUnknownAlarmIsEmpty) {
    AlarmTriage triage(kWindowS);
    expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    EXPECT_FALSE(triage.incident_of("T-1", "A-2").has_value());
    EXPECT_FALSE(triage.incident_of("T-2", "A-1").has_value());
}

// ---------------------------------------------------------------- incident ids

// The µs of day encoded in an id's base-36 suffix.
std::int64_t suffix_value(const std::string& id) {
    const std::string suffix = id.substr(id.rfind('-') + 1);
    std::int64_t v = 0;
    for (char c : suffix) {
        v = v * 36 + (c <= '9' ? c - '0' : c - 'A' + 10);
    }
    return v;
}

TEST(IncidentIds, ShapeIsDatePlusFixedWidthBase36) {
    IncidentIdGenerator ids;
    const std::string id = ids.next(kT0);
    ASSERT_EQ(id.rfind("I-20260901-", 0), 0u) << id;
    const std::string suffix = id.substr(11);
    EXPECT_EQ(suffix.size(), 8u) << id;
    for (char c : suffix) {
        EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) << id;
    }
    EXPECT_EQ(suffix_value(id), 7 * 3600 * kSecond + 30 * 60 * kSecond) << id;
}

TEST(IncidentIds, MidnightAndTheLastMicrosecondOfTheDay) {
    const UnixMicros midnight = days_from_civil(2026, 9, 1) * kDay;
    IncidentIdGenerator a;
    EXPECT_EQ(a.next(midnight), "I-20260901-00000000");
    IncidentIdGenerator b;
    const std::string last = b.next(midnight + kDay - 1);
    EXPECT_EQ(last.substr(0, 11), "I-20260901-");
    EXPECT_EQ(suffix_value(last), kDay - 1);
    // The next microsecond is the next day.
    EXPECT_EQ(b.next(midnight + kDay - 1), "I-20260902-00000000");
}

TEST(IncidentIds, UniqueAndIncreasingForTheSameInstant) {
    IncidentIdGenerator ids;
    std::vector<std::string> issued;
    for (int i = 0; i < 1000; ++i) issued.push_back(ids.next(kT0));
    EXPECT_TRUE(std::is_sorted(issued.begin(), issued.end()));
    EXPECT_EQ(std::set<std::string>(issued.begin(), issued.end()).size(), issued.size());
    EXPECT_EQ(suffix_value(issued.back()) - suffix_value(issued.front()), 999);
}

TEST(IncidentIds, MonotonicWhenTheClockGoesBackwards) {
    IncidentIdGenerator ids;
    const std::string a = ids.next(kT0);
    const std::string b = ids.next(kT0 - 3600 * kSecond);
    const std::string c = ids.next(kT0 - kDay);
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
}

TEST(IncidentIds, SortableAcrossTheWholeDay) {
    // Every id of one day, in time order, is also in text order: this covers
    // the late hours, whose µs of day need the eighth base-36 digit.
    const UnixMicros midnight = days_from_civil(2026, 9, 1) * kDay;
    IncidentIdGenerator ids;
    std::vector<std::string> issued;
    for (UnixMicros t = midnight; t < midnight + kDay; t += 37 * 60 * kSecond + 123'457) {
        issued.push_back(ids.next(t));
    }
    issued.push_back(ids.next(midnight + 21 * 3600 * kSecond + 46 * 60 * kSecond + 5 * kSecond));
    issued.push_back(ids.next(midnight + 23 * 3600 * kSecond + 59 * 60 * kSecond));
    issued.push_back(ids.next(midnight + kDay - 2));
    EXPECT_TRUE(std::is_sorted(issued.begin(), issued.end()));
    EXPECT_EQ(std::set<std::string>(issued.begin(), issued.end()).size(), issued.size());
}

TEST(IncidentIds, LateEveningIdsDoNotCollideWithEarlyMorningOnes) {
    // 36^7 µs after midnight is 21:46:04.164096; an id there must not repeat
    // the one issued at midnight.
    const UnixMicros midnight = days_from_civil(2026, 9, 1) * kDay;
    IncidentIdGenerator early;
    IncidentIdGenerator late;
    const std::string a = early.next(midnight);
    const std::string b = late.next(midnight + 78'364'164'096LL);
    EXPECT_NE(a, b);
    EXPECT_LT(a, b);
    EXPECT_EQ(suffix_value(b), 78'364'164'096LL);
}

TEST(IncidentIds, RandomTimesSortLikeTheirTimesAcrossDays) {
    std::mt19937_64 rng(20260901);
    std::uniform_int_distribution<UnixMicros> dist(kT0 - 30 * kDay, kT0 + 30 * kDay);
    std::vector<UnixMicros> times(5000);
    for (auto& t : times) t = dist(rng);
    std::sort(times.begin(), times.end());
    IncidentIdGenerator ids;
    std::vector<std::string> issued;
    for (UnixMicros t : times) issued.push_back(ids.next(t));
    EXPECT_TRUE(std::is_sorted(issued.begin(), issued.end()));
    EXPECT_EQ(std::set<std::string>(issued.begin(), issued.end()).size(), issued.size());
}

TEST(IncidentIds, ObserveSeedsTheGeneratorPastIssuedIds) {
    IncidentIdGenerator before_restart;
    const std::string old_id = before_restart.next(kT0);

    IncidentIdGenerator after_restart;
    after_restart.observe(kT0);
    const std::string new_id = after_restart.next(kT0);  // clock not advanced (or stepped back)
    EXPECT_NE(new_id, old_id);
    EXPECT_LT(old_id, new_id);
}

TEST(IncidentIds, ObserveNeverMovesBackwards) {
    IncidentIdGenerator ids;
    ids.observe(kT0 + kSecond);
    ids.observe(kT0);  // an older instant is ignored
    EXPECT_EQ(suffix_value(ids.next(kT0)), 7 * 3600 * kSecond + 30 * 60 * kSecond + kSecond + 1);
}

TEST(IncidentIds, TriageIssuesIdsFromItsGenerator) {
    AlarmTriage triage(kWindowS);
    triage.ids().observe(kT0 + 10 * kSecond);
    const std::string a = expect<NewIncident>(triage.triage(input("T-1", "A-1", "S-1", kT0)));
    const std::string b = expect<NewIncident>(triage.triage(input("T-2", "A-1", "S-2", kT0)));
    EXPECT_LT(a, b);
    EXPECT_EQ(suffix_value(a), 7 * 3600 * kSecond + 30 * 60 * kSecond + 10 * kSecond + 1);
}

}  // namespace
}  // namespace huxiao

namespace huxiao {
namespace {

TEST(AlarmTriageMemory, AlarmIdsOfIncidentsClosedLongAgoAreForgottenButOpenOnesAreKept) {
    AlarmTriage triage(120);
    constexpr UnixMicros day = AlarmTriage::kRememberClosed;
    auto closed = std::get<NewIncident>(triage.triage({"T-1", "A-1", "S-1", false, 1'000'000}));
    triage.close(closed.incident);
    auto open = std::get<NewIncident>(triage.triage({"T-2", "B-1", "S-2", false, 2'000'000}));
    // A day later the closed incident's alarm id is no longer in memory; the
    // open one's still is.
    triage.triage({"T-3", "C-1", "S-3", false, 2'000'000 + day});
    EXPECT_FALSE(triage.incident_of("T-1", "A-1"));
    ASSERT_TRUE(triage.incident_of("T-2", "B-1"));
    EXPECT_EQ(*triage.incident_of("T-2", "B-1"), open.incident);
}

}  // namespace
}  // namespace huxiao
