// PipelineTracker: which batch a libpq pipeline result belongs to.
//
// PgConnection sends batches (n queries, then a Sync) back to back and reads
// results as they come. libpq hands them over as a flat sequence: per query
// one result (or an error, or "aborted" for the queries after an error)
// followed by an end-of-query marker (NULL), then one Sync result per batch.
// This class keeps the count, sans I/O and without libpq types, so that it can
// be tested with scripted sequences; anything that does not fit what was sent
// is a mismatch, and the connection is dropped rather than guess (userver's
// pg_connection_wrapper does the same).
#pragma once

#include <cstddef>
#include <deque>
#include <string_view>

namespace huxiao::db {

// One thing libpq returned from PQgetResult, as far as matching cares.
enum class PipelineResult {
    data,          // a query's result (PGRES_COMMAND_OK, PGRES_TUPLES_OK, ...)
    error,         // PGRES_FATAL_ERROR: the query failed, and with it its batch
    aborted,       // PGRES_PIPELINE_ABORTED: a later query of a batch that failed
    end_of_query,  // NULL: the current query has no more results
    sync,          // PGRES_PIPELINE_SYNC: the batch's transaction has ended
};

struct PipelineStep {
    enum class Action {
        keep,         // store the result as query `query` of the front batch
        first_error,  // the front batch failed at query `query` (== its size: at
                      // the commit): keep this error
        ignore,       // nothing to do (end of a query, an aborted query, a later error)
        complete,     // the front batch is finished: deliver it (`failed` says how)
        wait,         // nothing more can be read until more input arrives
        mismatch,     // the sequence does not fit what was sent (`reason`)
    };
    Action action = Action::ignore;
    std::size_t query = 0;
    bool failed = false;
    std::string_view reason;
};

class PipelineTracker {
  public:
    // A batch of `queries` queries and its Sync went out.
    void on_batch_sent(std::size_t queries);
    // The next result libpq returned; says what to do with it. After a
    // mismatch the tracker is cleared (the connection is about to be dropped).
    PipelineStep on_result(PipelineResult result);

    std::size_t batches() const { return pending_.size(); }
    void clear() { pending_.clear(); }

  private:
    struct Pending {
        std::size_t queries = 0;
        std::size_t ended = 0;    // queries whose end marker has been seen
        bool has_result = false;  // the current query has produced its result
        bool failed = false;
    };
    PipelineStep mismatch(std::string_view reason);

    std::deque<Pending> pending_;
};

}  // namespace huxiao::db
