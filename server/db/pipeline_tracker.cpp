#include "server/db/pipeline_tracker.hpp"

namespace huxiao::db {

using Action = PipelineStep::Action;

namespace {
PipelineStep step(Action action, std::size_t query = 0, bool failed = false) {
    return {action, query, failed, {}};
}
}  // namespace

void PipelineTracker::on_batch_sent(std::size_t queries) { pending_.push_back({queries}); }

PipelineStep PipelineTracker::mismatch(std::string_view reason) {
    pending_.clear();
    return {Action::mismatch, 0, false, reason};
}

PipelineStep PipelineTracker::on_result(PipelineResult result) {
    if (pending_.empty()) {
        // libpq returns NULL when there is nothing to read; anything else
        // arriving with nothing in flight was never asked for.
        if (result == PipelineResult::end_of_query) return step(Action::wait);
        return mismatch("a result arrived with no batch in flight");
    }
    Pending& p = pending_.front();
    const bool all_ended = p.ended == p.queries;
    switch (result) {
        case PipelineResult::data:
            if (all_ended) return mismatch("more results than queries in a batch");
            if (p.has_result) return mismatch("two results for one query");
            p.has_result = true;
            return step(p.failed ? Action::ignore : Action::keep, p.ended);
        case PipelineResult::error:
            // An error may follow a result already announced (a failure while
            // rows were sent), or every query (the commit at the Sync failed):
            // either way the batch failed, at query `ended` (== queries: the commit).
            if (!all_ended) p.has_result = true;
            if (p.failed) return step(Action::ignore, p.ended);
            p.failed = true;
            return step(Action::first_error, p.ended, true);
        case PipelineResult::aborted:
            if (all_ended) return mismatch("an aborted query after every query had ended");
            if (!p.failed) return mismatch("a query aborted with no error before it");
            if (p.has_result) return mismatch("two results for one query");
            p.has_result = true;
            return step(Action::ignore, p.ended);
        case PipelineResult::end_of_query:
            // With every query ended, libpq has nothing until the Sync arrives.
            if (all_ended) return step(Action::wait);
            if (!p.has_result) return mismatch("a query ended without a result");
            ++p.ended;
            p.has_result = false;
            return step(Action::ignore, p.ended - 1);
        case PipelineResult::sync: {
            if (!all_ended) return mismatch("Sync arrived before all results of its batch");
            const bool failed = p.failed;
            pending_.pop_front();
            return step(Action::complete, 0, failed);
        }
    }
    return mismatch("unknown result kind");
}

}  // namespace huxiao::db
