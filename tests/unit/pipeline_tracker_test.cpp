// PipelineTracker (server/db/pipeline_tracker): matching libpq pipeline
// results to batches, without libpq. In the style of boostorg/mysql's sans-io
// tests: a script of results as libpq returns them, then the same script with
// a failure injected at every position.
#include "server/db/pipeline_tracker.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

namespace huxiao::db {
namespace {

using R = PipelineResult;
using Action = PipelineStep::Action;

// What a connection does with the steps: per batch, the queries whose result
// it kept, the query of its first error, and whether it completed (failed or not).
struct Delivered {
    std::vector<std::size_t> kept;
    std::optional<std::size_t> first_error;
    bool completed = false;
    bool failed = false;
};

struct Run {
    std::vector<Delivered> batches;
    std::optional<std::size_t> mismatch_at;  // index in the script
    std::size_t waits = 0;
};

// Feeds `script` to a tracker after sending batches of `sizes` queries.
Run play(const std::vector<std::size_t>& sizes, const std::vector<R>& script) {
    PipelineTracker tracker;
    for (auto n : sizes) tracker.on_batch_sent(n);
    Run run;
    run.batches.resize(sizes.size());
    std::size_t front = 0;
    for (std::size_t i = 0; i < script.size(); ++i) {
        const PipelineStep step = tracker.on_result(script[i]);
        switch (step.action) {
            case Action::keep:
                run.batches.at(front).kept.push_back(step.query);
                break;
            case Action::first_error:
                run.batches.at(front).first_error = step.query;
                break;
            case Action::ignore:
                break;
            case Action::complete:
                run.batches.at(front).completed = true;
                run.batches.at(front).failed = step.failed;
                ++front;
                break;
            case Action::wait:
                ++run.waits;
                break;
            case Action::mismatch:
                run.mismatch_at = i;
                EXPECT_FALSE(step.reason.empty());
                EXPECT_EQ(tracker.batches(), 0u) << "a mismatch clears the tracker";
                return run;
        }
    }
    return run;
}

// The results libpq gives for a batch of `n` queries that all succeed.
std::vector<R> ok_batch(std::size_t n) {
    std::vector<R> s;
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(R::data);
        s.push_back(R::end_of_query);
    }
    s.push_back(R::sync);
    return s;
}

// ... for a batch of `n` queries whose query `k` fails.
std::vector<R> failed_batch(std::size_t n, std::size_t k) {
    std::vector<R> s;
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(i < k ? R::data : i == k ? R::error : R::aborted);
        s.push_back(R::end_of_query);
    }
    s.push_back(R::sync);
    return s;
}

std::vector<R> concat(std::vector<std::vector<R>> parts) {
    std::vector<R> all;
    for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}

TEST(PipelineTracker, BatchesCompleteInOrderWithEveryResultKept) {
    const auto run = play({3, 1, 2}, concat({ok_batch(3), ok_batch(1), ok_batch(2)}));
    ASSERT_FALSE(run.mismatch_at);
    ASSERT_EQ(run.batches.size(), 3u);
    EXPECT_EQ(run.batches[0].kept, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(run.batches[1].kept, (std::vector<std::size_t>{0}));
    EXPECT_EQ(run.batches[2].kept, (std::vector<std::size_t>{0, 1}));
    for (const auto& b : run.batches) {
        EXPECT_TRUE(b.completed);
        EXPECT_FALSE(b.failed);
        EXPECT_FALSE(b.first_error);
    }
}

TEST(PipelineTracker, AnEmptyBatchIsJustItsSync) {
    const auto run = play({0, 1}, concat({{R::sync}, ok_batch(1)}));
    ASSERT_FALSE(run.mismatch_at);
    EXPECT_TRUE(run.batches[0].completed);
    EXPECT_TRUE(run.batches[0].kept.empty());
    EXPECT_TRUE(run.batches[1].completed);
}

TEST(PipelineTracker, WaitsForTheSyncAfterTheLastQueryEnded) {
    // libpq returns NULL again when every query has ended and the Sync is
    // still on its way: nothing to do but read more.
    PipelineTracker tracker;
    tracker.on_batch_sent(1);
    EXPECT_EQ(tracker.on_result(R::data).action, Action::keep);
    EXPECT_EQ(tracker.on_result(R::end_of_query).action, Action::ignore);
    EXPECT_EQ(tracker.on_result(R::end_of_query).action, Action::wait);
    EXPECT_EQ(tracker.on_result(R::end_of_query).action, Action::wait);
    EXPECT_EQ(tracker.on_result(R::sync).action, Action::complete);
    EXPECT_EQ(tracker.batches(), 0u);
    EXPECT_EQ(tracker.on_result(R::end_of_query).action, Action::wait);
}

// A failing query at every position of the middle batch: that batch fails
// with the first error at that query, its neighbours are untouched.
TEST(PipelineTracker, AnErrorAtEveryPositionFailsOnlyItsBatch) {
    constexpr std::size_t n = 4;
    for (std::size_t k = 0; k < n; ++k) {
        SCOPED_TRACE("error at query " + std::to_string(k));
        const auto run = play({2, n, 1}, concat({ok_batch(2), failed_batch(n, k), ok_batch(1)}));
        ASSERT_FALSE(run.mismatch_at);
        EXPECT_TRUE(run.batches[0].completed);
        EXPECT_FALSE(run.batches[0].failed);
        EXPECT_TRUE(run.batches[1].completed);
        EXPECT_TRUE(run.batches[1].failed);
        EXPECT_EQ(run.batches[1].first_error, k);
        std::vector<std::size_t> before;
        for (std::size_t i = 0; i < k; ++i) before.push_back(i);
        EXPECT_EQ(run.batches[1].kept, before) << "results after the error are not kept";
        EXPECT_TRUE(run.batches[2].completed);
        EXPECT_FALSE(run.batches[2].failed);
        EXPECT_EQ(run.batches[2].kept, (std::vector<std::size_t>{0}));
    }
}

TEST(PipelineTracker, OnlyTheFirstErrorOfABatchCounts) {
    // An error can follow a result announced for the same query.
    const auto run =
        play({2}, {R::data, R::error, R::end_of_query, R::aborted, R::end_of_query, R::sync});
    ASSERT_FALSE(run.mismatch_at);
    EXPECT_EQ(run.batches[0].first_error, 0u);
    EXPECT_TRUE(run.batches[0].failed);
}

// The connection breaks at every position: a script cut short completes
// exactly the batches whose Sync arrived, never one whose outcome is unknown.
TEST(PipelineTracker, ACutAtEveryPositionCompletesOnlyBatchesWhoseSyncArrived) {
    const auto full = concat({ok_batch(2), failed_batch(3, 1), ok_batch(1)});
    for (std::size_t cut = 0; cut <= full.size(); ++cut) {
        SCOPED_TRACE("cut after " + std::to_string(cut) + " results");
        const std::vector<R> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
        const auto run = play({2, 3, 1}, part);
        ASSERT_FALSE(run.mismatch_at);
        std::size_t syncs = 0;
        for (auto r : part) syncs += r == R::sync;
        for (std::size_t b = 0; b < 3; ++b) EXPECT_EQ(run.batches[b].completed, b < syncs);
    }
}

// A foreign result at every position: an extra result, an early Sync, an
// aborted query with no error before it, a query ended twice, an extra error.
// Each is either a mismatch (at or after the position it was injected) or, for
// an error, fails the batch it landed in; never a batch completed as a success
// that was not one.
TEST(PipelineTracker, AForeignResultAtEveryPositionIsAMismatchOrAFailure) {
    const auto full = concat({ok_batch(2), failed_batch(3, 1), ok_batch(1)});
    for (R injected : {R::data, R::sync, R::aborted, R::end_of_query, R::error}) {
        for (std::size_t at = 0; at <= full.size(); ++at) {
            auto script = full;
            script.insert(script.begin() + static_cast<std::ptrdiff_t>(at), injected);
            const auto run = play({2, 3, 1}, script);
            const std::string where = "injected kind " +
                                      std::to_string(static_cast<int>(injected)) + " at " +
                                      std::to_string(at);
            if (run.mismatch_at) {
                EXPECT_GE(*run.mismatch_at, at) << where;
                continue;
            }
            // Passing is fine only for a NULL (libpq returns one while the
            // Sync is on its way), an error (it fails its batch), or a result
            // just before an error of the same query (swallowed by the failure).
            ASSERT_NE(injected, R::sync) << where;
            ASSERT_NE(injected, R::aborted) << where;
            std::size_t landed = 0;
            for (std::size_t i = 0; i < at; ++i) landed += full[i] == R::sync;
            for (std::size_t b = 0; b < 3; ++b) {
                EXPECT_TRUE(run.batches[b].completed) << where;
                const bool should_fail = b == 1 || (injected == R::error && b == landed);
                EXPECT_EQ(run.batches[b].failed, should_fail) << where << " batch " << b;
            }
            if (injected == R::data) {
                EXPECT_EQ(landed, 1u) << where;
            }
        }
    }
}

TEST(PipelineTracker, AnErrorAtTheCommitFailsTheBatch) {
    // Every query succeeded, then the implicit COMMIT at the Sync failed.
    const auto run = play({2}, {R::data, R::end_of_query, R::data, R::end_of_query, R::error,
                                R::end_of_query, R::sync});
    ASSERT_FALSE(run.mismatch_at);
    EXPECT_TRUE(run.batches[0].completed);
    EXPECT_TRUE(run.batches[0].failed);
    EXPECT_EQ(run.batches[0].first_error, 2u);
}

TEST(PipelineTracker, ResultsWithNothingInFlightAreAMismatch) {
    for (R r : {R::data, R::error, R::aborted, R::sync}) {
        PipelineTracker tracker;
        EXPECT_EQ(tracker.on_result(r).action, Action::mismatch);
    }
}

}  // namespace
}  // namespace huxiao::db
