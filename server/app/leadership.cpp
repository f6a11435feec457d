#include "server/app/leadership.hpp"

#include <memory>

#include "server/base/log.hpp"
#include "server/db/pg_connection.hpp"

namespace huxiao {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Leadership::Leadership(const Config& config, Hooks hooks)
    : conninfo_(db::make_conninfo(config.database.url, config.database.connect_timeout_s)),
      ha_(config.ha),
      hooks_(std::move(hooks)),
      timer_(std::chrono::seconds(config.ha.lease_ttl_s)) {}

Leadership::~Leadership() { stop_and_release(); }

void Leadership::start() {
    log_info("leadership", "node \"" + ha_.node + "\" starts as a standby (lease " +
                               std::to_string(ha_.lease_ttl_s) + " s)");
    thread_ = std::thread([this] { run(); });
}

bool Leadership::held() const {
    const auto until = valid_until_.load();
    return until != 0 && Clock::now().time_since_epoch().count() < until;
}

std::optional<db::LeaseHolder> Leadership::leader() const {
    std::lock_guard lock(mutex_);
    return leader_;
}

void Leadership::sleep_until(Clock::time_point t) {
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, t, [this] { return stopping_; });
}

void Leadership::confirm(Clock::time_point sent) {
    timer_.confirmed(sent);
    valid_until_ = timer_.valid_until()->time_since_epoch().count();
}

void Leadership::run() {
    std::unique_ptr<db::PgSync> db;
    std::string last_problem;
    const milliseconds ttl = timer_.ttl();
    while (true) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        const bool was_leading = leading();
        Clock::time_point next = Clock::now() + timer_.poll_interval();
        try {
            if (!db) {
                db = std::make_unique<db::PgSync>(conninfo_);
                // A renewal or takeover that waits on a lock longer than a
                // TTL is no use: fail it, and try again.
                db->exec("SET statement_timeout = " + std::to_string(ttl.count()));
            }
            const Clock::time_point sent = Clock::now();
            if (!was_leading) {
                if (auto epoch = db::acquire_lease(*db, ha_.node, ttl, ha_.advertise_terminal,
                                                   ha_.advertise_api)) {
                    confirm(sent);
                    epoch_ = *epoch;
                    log_info("leadership", "node \"" + ha_.node + "\" took the lease, epoch " +
                                               std::to_string(*epoch));
                    hooks_.acquired(*epoch);
                    next = timer_.next_renewal(sent);
                } else {
                    auto holder = db::lease_holder(*db);
                    next = timer_.standby_next_try(
                        Clock::now(), holder ? std::optional(holder->remaining) : std::nullopt);
                    std::lock_guard lock(mutex_);
                    leader_ = std::move(holder);
                }
            } else if (db::renew_lease(*db, ha_.node, epoch_.load(), ttl)) {
                confirm(sent);
                next = timer_.next_renewal(sent);
            } else {
                timer_.lost();
                valid_until_ = 0;
                hooks_.lost("the lease of epoch " + std::to_string(epoch_.load()) +
                            " is no longer ours (expired or taken over)");
                return;
            }
            if (!last_problem.empty()) {
                log_info("leadership", "the lease is reachable again after: " + last_problem);
                last_problem.clear();
            }
        } catch (const std::exception& e) {
            // The server's own check of held() steps a leader down when this
            // lasts; a standby simply keeps trying.
            if (last_problem != e.what()) {
                log_warn("leadership", std::string("lease not reachable: ") + e.what());
                last_problem = e.what();
            }
            db.reset();
            next = Clock::now() + (was_leading ? milliseconds(100) : timer_.retry_interval());
        }
        sleep_until(next);
    }
}

void Leadership::stop_and_release() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    const std::int64_t epoch = epoch_.exchange(0);
    valid_until_ = 0;
    if (epoch == 0) return;
    try {
        db::PgSync db(conninfo_, 2);
        db::release_lease(db, ha_.node, epoch);
        log_info("leadership", "released the lease of epoch " + std::to_string(epoch));
    } catch (const std::exception& e) {
        log_warn("leadership",
                 std::string("could not release the lease (it expires by itself): ") + e.what());
    }
}

}  // namespace huxiao
