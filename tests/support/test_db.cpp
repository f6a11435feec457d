#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

namespace huxiao::test {

namespace {

std::string with_database(const std::string& url, const std::string& db) {
    // postgresql://user@host:port/dbname[?...] -> same with another dbname
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    const auto query = url.find('?');
    std::string base = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
    std::string tail = query == std::string::npos ? "" : url.substr(query);
    return base + "/" + db + tail;
}

std::string unique_name() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    return "huxiao_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(rd() % 100000);
}

}  // namespace

std::string test_cluster_url() {
    const char* url = std::getenv("HUXIAO_TEST_PG");
    if (!url || !*url) {
        throw std::runtime_error(
            "HUXIAO_TEST_PG is not set: run the tests through tools/test.sh, which starts the "
            "private PostgreSQL cluster and sets it");
    }
    return url;
}

TestDatabase::TestDatabase() : name_(unique_name()), admin_url_(test_cluster_url()) {
    db::PgSync admin(admin_url_);
    admin.exec("CREATE DATABASE " + name_);
    url_ = with_database(admin_url_, name_);
}

TestDatabase::~TestDatabase() {
    try {
        db::PgSync admin(admin_url_);
        admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "could not drop test database %s: %s\n", name_.c_str(), e.what());
    }
}

std::vector<std::string> TestDatabase::column(
    const std::string& sql, const std::vector<std::optional<std::string>>& params) const {
    db::PgSync c(url_);
    auto r = c.exec(sql, params);
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(db::cell(r.get(), i, 0));
    return out;
}

std::string TestDatabase::scalar(const std::string& sql,
                                 const std::vector<std::optional<std::string>>& params) const {
    auto values = column(sql, params);
    if (values.size() != 1) {
        throw std::runtime_error("expected one row from: " + sql + " (got " +
                                 std::to_string(values.size()) + ")");
    }
    return values[0];
}

int free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

ThrowawayCluster::ThrowawayCluster() {
    char tmpl[] = "/tmp/huxiao-pgtest-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // initdb refuses to run as root: the cluster then belongs to `postgres`.
    if (::geteuid() == 0) {
        if (std::system(("chown postgres " + dir_.string()).c_str()) != 0) {
            throw std::runtime_error("cannot hand " + dir_.string() + " to the postgres user");
        }
        as_postgres_ = true;
    }
    port_ = free_tcp_port();
    run("/usr/lib/postgresql/15/bin/initdb -D " + (dir_ / "data").string() +
        " -U postgres --auth=trust -E UTF8 --locale=C >/dev/null");
    start();
    db::PgSync admin("postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres");
    admin.exec("CREATE ROLE huxiao LOGIN CREATEDB");
    admin.exec("CREATE DATABASE huxiao OWNER huxiao");
}

ThrowawayCluster::~ThrowawayCluster() {
    try {
        run("/usr/lib/postgresql/15/bin/pg_ctl -D " + (dir_ / "data").string() +
            " -m immediate stop >/dev/null 2>&1 || true");
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void ThrowawayCluster::run(const std::string& command) const {
    const std::string full =
        as_postgres_ ? "runuser -u postgres -- sh -c '" + command + "'" : command;
    if (std::system(full.c_str()) != 0) throw std::runtime_error("failed: " + full);
}

void ThrowawayCluster::start() {
    run("/usr/lib/postgresql/15/bin/pg_ctl -D " + (dir_ / "data").string() + " -l " +
        (dir_ / "log").string() + " -w -o \"-p " + std::to_string(port_) +
        " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_.string() +
        "\" start >/dev/null");
}

void ThrowawayCluster::stop() {
    run("/usr/lib/postgresql/15/bin/pg_ctl -D " + (dir_ / "data").string() +
        " -m fast -w stop >/dev/null");
}

std::string ThrowawayCluster::url() const {
    return "postgresql://huxiao@127.0.0.1:" + std::to_string(port_) + "/huxiao";
}

}  // namespace huxiao::test
