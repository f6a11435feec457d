#include "tests/support/ha_cluster.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace huxiao::test {

namespace {

std::filesystem::path source_dir() {
    const char* dir = std::getenv("HUXIAO_SOURCE_DIR");
    if (!dir || !*dir) {
        throw std::runtime_error(
            "HUXIAO_SOURCE_DIR is not set: run the tests through tools/test.sh (it points at the "
            "repository, whose tools/ha.sh starts the replicated cluster)");
    }
    return dir;
}

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string tail(const std::filesystem::path& file, std::size_t lines) {
    std::ifstream in(file);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
        out += all[i] + "\n";
    return out;
}

}  // namespace

HaCluster::HaCluster()
    : script_(source_dir() / "tools" / "ha.sh"),
      // Under the repository like the developers' cluster (.local/ha), but
      // its own: a test never touches a cluster someone is working with, and
      // the next run finds (and ends) whatever a crashed run left behind.
      state_dir_(source_dir() / ".local" / "ha-test"),
      log_(source_dir() / ".local" / "ha-test.log") {
    std::filesystem::create_directories(state_dir_.parent_path());
    std::ofstream(log_, std::ios::trunc) << "";
    if (run("reset").status != 0 || run("start").status != 0) {
        const std::string why = diagnostics();
        run("stop --immediate");
        throw std::runtime_error("tools/ha.sh could not start the cluster:\n" + why);
    }
    auto u = run("url");
    url_ = u.out.substr(0, u.out.find('\n'));
    if (u.status != 0 || url_.empty()) throw std::runtime_error("tools/ha.sh url failed");
}

HaCluster::~HaCluster() {
    // Immediate: a graceful stop of three nodes takes ~15 s, and the next run
    // starts from a reset anyway.
    if (run("stop --immediate").status != 0)
        std::fprintf(stderr, "tools/ha.sh stop failed:\n%s\n", tail(log_, 30).c_str());
}

HaCluster::Result HaCluster::run(const std::string& args) const {
    // The script's own messages go to a log; stdout (values such as the URL
    // and the status table) comes back. The daemons it starts keep neither.
    const std::string command = "HUXIAO_HA_DIR=" + quoted(state_dir_.string()) + " " +
                                quoted(script_.string()) + " " + args + " 2>>" +
                                quoted(log_.string());
    Result result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return result;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

bool HaCluster::heal() { return run("start").status == 0; }

std::vector<HaCluster::Node> HaCluster::nodes() const {
    std::vector<Node> out;
    std::istringstream in(run("status").out);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Node n;
        std::string postgres, api, patroni_pid, postmaster_pid;
        if (!(fields >> n.name >> n.role >> n.state >> postgres >> api >> patroni_pid >>
              postmaster_pid))
            continue;
        if (n.name == "etcd") continue;
        n.port = std::atoi(postgres.substr(postgres.rfind(':') + 1).c_str());
        n.patroni_pid = std::atoi(patroni_pid.c_str());
        n.postmaster_pid = std::atoi(postmaster_pid.c_str());
        out.push_back(n);
    }
    return out;
}

std::optional<HaCluster::Node> HaCluster::with_role(const std::string& role) const {
    for (auto& n : nodes())
        if (n.role == role && n.state == "running") return n;
    return std::nullopt;
}

std::vector<std::string> HaCluster::names_with_role(const std::string& role) const {
    std::vector<std::string> out;
    for (auto& n : nodes())
        if (n.role == role && n.state == "running") out.push_back(n.name);
    return out;
}

bool HaCluster::fault(const std::string& node, const std::string& what) {
    return run("fault " + quoted(node) + " " + quoted(what)).status == 0;
}

std::string HaCluster::diagnostics() const {
    std::string out = "--- tools/ha.sh status\n" + run("status").out;
    out += run("logs 12").out;
    out += "--- tools/ha.sh messages\n" + tail(log_, 30);
    return out;
}

}  // namespace huxiao::test
