// PostgreSQL for tests: a fresh database per fixture on the private cluster
// that tools/test.sh starts (HUXIAO_TEST_PG), or a whole throwaway cluster for
// tests that stop and start the database.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "server/db/pg_connection.hpp"

namespace huxiao::test {

// The URL of the test cluster's `huxiao` database; fails the test run with a
// clear message when the environment does not provide one.
std::string test_cluster_url();

// A database created for one test (and dropped after it).
class TestDatabase {
  public:
    TestDatabase();
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& url() const { return url_; }
    // Runs a query and returns the first column of every row.
    std::vector<std::string> column(
        const std::string& sql, const std::vector<std::optional<std::string>>& params = {}) const;
    std::string scalar(const std::string& sql,
                       const std::vector<std::optional<std::string>>& params = {}) const;

  private:
    std::string name_;
    std::string admin_url_;
    std::string url_;
};

// A PostgreSQL cluster of its own in a temporary directory (initdb as the
// `postgres` user when running as root), for tests that stop the database.
class ThrowawayCluster {
  public:
    ThrowawayCluster();
    ~ThrowawayCluster();
    void start();
    void stop();              // fast shutdown
    std::string url() const;  // database huxiao, role huxiao
    int port() const { return port_; }

  private:
    void run(const std::string& command) const;
    std::filesystem::path dir_;
    int port_ = 0;
    bool as_postgres_ = false;
};

int free_tcp_port();

}  // namespace huxiao::test
