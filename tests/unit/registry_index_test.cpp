// The indexed registry snapshot (common/model/registry_index).
#include "common/model/registry_index.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/model/registry_import.hpp"

namespace huxiao {
namespace {

Registry sample() {
    Registry r;
    r.districts = {{"D-1", "Jianghan", {std::nullopt, 300}},
                   {"D-2", "Wuchang", {45, std::nullopt}}};
    r.schools = {{"S-1", "No.1 Primary", "D-1", {30.5928, 114.3055}},
                 {"S-2", "No.2 Middle", "D-2", {30.55, 114.31}},
                 {"S-3", "No.3 (no terminals)", "D-2", {30.50, 114.20}}};
    r.terminals = {{"T-0001", "S-1", true},
                   {"T-0002", "S-2", true},
                   {"T-0003", "S-1", false},
                   {"T-0004", "S-1", true}};
    r.units = {{"P-12", "Patrol 12", "D-1", {30.59, 114.29}},
               {"P-13", "Patrol 13", "D-2", {30.6, 114.3}}};
    return r;
}

TEST(RegistryIndex, FindsEveryRecordById) {
    const RegistryIndex index(sample());
    ASSERT_NE(index.terminal("T-0002"), nullptr);
    EXPECT_EQ(index.terminal("T-0002")->school, "S-2");
    ASSERT_NE(index.school("S-1"), nullptr);
    EXPECT_EQ(index.school("S-1")->name, "No.1 Primary");
    EXPECT_DOUBLE_EQ(index.school("S-1")->location.lat, 30.5928);
    ASSERT_NE(index.unit("P-13"), nullptr);
    EXPECT_EQ(index.unit("P-13")->callsign, "Patrol 13");
    ASSERT_NE(index.district("D-1"), nullptr);
    EXPECT_EQ(index.district("D-1")->sla.arrival_s, 300);
    EXPECT_EQ(index.district("D-2")->sla.ack_s, 45);
}

TEST(RegistryIndex, UnknownIdsAreNull) {
    const RegistryIndex index(sample());
    EXPECT_EQ(index.terminal("T-9999"), nullptr);
    EXPECT_EQ(index.school("S-9"), nullptr);
    EXPECT_EQ(index.unit("P-99"), nullptr);
    EXPECT_EQ(index.district("D-9"), nullptr);
    EXPECT_EQ(index.terminal(""), nullptr);
    // Ids of one kind are not found as another.
    EXPECT_EQ(index.school("T-0001"), nullptr);
    EXPECT_EQ(index.terminal("S-1"), nullptr);
    // Lookups are exact, not case-folded or trimmed.
    EXPECT_EQ(index.school("s-1"), nullptr);
    EXPECT_EQ(index.school("S-1 "), nullptr);
}

TEST(RegistryIndex, DisabledTerminalsAreIndexedWithTheirFlag) {
    const RegistryIndex index(sample());
    ASSERT_NE(index.terminal("T-0003"), nullptr);
    EXPECT_FALSE(index.terminal("T-0003")->enabled);
    EXPECT_TRUE(index.terminal("T-0001")->enabled);
}

TEST(RegistryIndex, PointersReferToTheSnapshotsOwnRecords) {
    const RegistryIndex index(sample());
    const Registry& r = index.registry();
    EXPECT_EQ(index.terminal("T-0001"), &r.terminals[0]);
    EXPECT_EQ(index.terminal("T-0004"), &r.terminals[3]);
    EXPECT_EQ(index.school("S-3"), &r.schools[2]);
    EXPECT_EQ(index.unit("P-12"), &r.units[0]);
    EXPECT_EQ(index.district("D-2"), &r.districts[1]);
}

TEST(RegistryIndex, TerminalsOfASchoolInRegistryOrder) {
    const RegistryIndex index(sample());
    EXPECT_EQ(index.terminals_of("S-1"), (std::vector<std::string>{"T-0001", "T-0003", "T-0004"}));
    EXPECT_EQ(index.terminals_of("S-2"), (std::vector<std::string>{"T-0002"}));
    EXPECT_TRUE(index.terminals_of("S-3").empty());
    EXPECT_TRUE(index.terminals_of("S-unknown").empty());
}

TEST(RegistryIndex, KeepsTheWholeRegistry) {
    const RegistryIndex index(sample());
    EXPECT_EQ(index.registry().districts.size(), 2u);
    EXPECT_EQ(index.registry().schools.size(), 3u);
    EXPECT_EQ(index.registry().terminals.size(), 4u);
    EXPECT_EQ(index.registry().units.size(), 2u);
}

TEST(RegistryIndex, EmptyRegistry) {
    const RegistryIndex index(Registry{});
    EXPECT_EQ(index.terminal("T-0001"), nullptr);
    EXPECT_EQ(index.school("S-1"), nullptr);
    EXPECT_TRUE(index.terminals_of("S-1").empty());
}

TEST(RegistryIndex, CannotBeCopiedOnlyMoved) {
    // A copy would keep pointers into the original's records.
    static_assert(!std::is_copy_constructible_v<RegistryIndex>);
    static_assert(!std::is_copy_assignable_v<RegistryIndex>);
    static_assert(std::is_move_constructible_v<RegistryIndex>);

    RegistryIndex first(sample());
    const RegistryIndex moved(std::move(first));
    ASSERT_NE(moved.school("S-2"), nullptr);
    EXPECT_EQ(moved.school("S-2"), &moved.registry().schools[1]);
    EXPECT_EQ(moved.terminal("T-0002")->school, "S-2");
    EXPECT_EQ(moved.terminals_of("S-1").size(), 3u);
}

TEST(RegistryIndex, MoveAssignmentKeepsLookupsValid) {
    RegistryIndex target(Registry{});
    {
        RegistryIndex source(sample());
        target = std::move(source);
    }  // the source is gone
    ASSERT_NE(target.unit("P-12"), nullptr);
    EXPECT_EQ(target.unit("P-12"), &target.registry().units[0]);
    EXPECT_EQ(target.unit("P-12")->district, "D-1");
}

TEST(RegistryIndex, SharedSnapshotOutlivesItsHolder) {
    RegistrySnapshot snapshot = std::make_shared<const RegistryIndex>(sample());
    const Terminal* t = snapshot->terminal("T-0001");
    RegistrySnapshot kept = snapshot;
    snapshot = std::make_shared<const RegistryIndex>(Registry{});  // a new registry swapped in
    EXPECT_EQ(snapshot->terminal("T-0001"), nullptr);
    ASSERT_EQ(kept->terminal("T-0001"), t);
    EXPECT_EQ(t->school, "S-1");
}

TEST(RegistryIndex, BuiltFromAnImportedFile) {
    const RegistryParse p = parse_registry(R"({
      "districts": [{"id":"D-1","name":"Jianghan","sla":{"arrival_s":300}}],
      "schools":   [{"id":"S-1","name":"No.1 Primary","district":"D-1","lat":30.5928,"lon":114.3055}],
      "terminals": [{"id":"T-0001","school":"S-1","enabled":true}],
      "units":     [{"id":"P-12","callsign":"Patrol 12","district":"D-1","lat":30.59,"lon":114.29}]
    })",
                                           {});
    ASSERT_TRUE(p.errors.empty());
    const RegistryIndex index(p.registry);
    const Terminal* t = index.terminal("T-0001");
    ASSERT_NE(t, nullptr);
    const School* s = index.school(t->school);
    ASSERT_NE(s, nullptr);
    const District* d = index.district(s->district);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name, "Jianghan");
    EXPECT_EQ(index.terminals_of("S-1"), (std::vector<std::string>{"T-0001"}));
}

}  // namespace
}  // namespace huxiao
