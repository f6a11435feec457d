// The replicated PostgreSQL of tools/ha.sh (etcd and three PostgreSQL nodes
// under Patroni) for tests that take its primary away: started fresh in a
// state directory of its own, read through `tools/ha.sh status`, stopped
// (no process left) when the object goes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace huxiao::test {

class HaCluster {
  public:
    // A node as `tools/ha.sh status` shows it. role: leader, sync_standby,
    // replica or "-"; state: running, stopped, starting, down, …
    struct Node {
        std::string name;
        std::string role;
        std::string state;
        int port = 0;
        pid_t patroni_pid = 0;     // 0: not running
        pid_t postmaster_pid = 0;  // 0: not running
    };

    // Deletes what an earlier run left in the state directory (ending its
    // processes), then starts the cluster and waits until it is healthy.
    // Throws with the script's output when it does not come up.
    HaCluster();
    ~HaCluster();
    HaCluster(const HaCluster&) = delete;
    HaCluster& operator=(const HaCluster&) = delete;

    // Multi-host URL of database huxiao (target_session_attrs=read-write).
    const std::string& url() const { return url_; }
    // `tools/ha.sh start` again: heals (restarts what was killed) and waits
    // for a leader and two replicas, as many of them synchronous standbys as
    // config/patroni-dcs.json asks (both). False on failure.
    bool heal();
    std::vector<Node> nodes() const;
    // The running node that has `role`, if any.
    std::optional<Node> with_role(const std::string& role) const;
    // The names of the running nodes that have `role`, in the script's order.
    std::vector<std::string> names_with_role(const std::string& role) const;
    // `tools/ha.sh fault NODE WHAT` (kill-postmaster, kill-node, pause, resume).
    bool fault(const std::string& node, const std::string& what);
    // Status, and the last lines of every Patroni log and of the script's
    // own output, for a failure message.
    std::string diagnostics() const;

  private:
    struct Result {
        int status = -1;
        std::string out;
    };
    Result run(const std::string& args) const;
    std::filesystem::path script_;
    std::filesystem::path state_dir_;
    std::filesystem::path log_;
    std::string url_;
};

}  // namespace huxiao::test
