// The common ground of the end-to-end tests: a fresh database with a small
// registry imported through `huxiaod import`, certificates for its
// terminals, and a running huxiaod.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "tests/support/api_client.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/terminal_client.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {

// A registry of two schools: S-1 with terminals T-1 and T-1B, S-2 with T-2
// and the disabled T-9.
extern const char* const kSmallRegistry;

std::filesystem::path make_temp_dir(const std::string& prefix);

class ServerTest : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    // Starts (or restarts) huxiaod with `config()`.
    void start_server();
    nlohmann::json& config() { return config_; }
    ServerProcess& server() { return *server_; }
    int port() const { return server_->terminal_port(); }
    int api_port() const { return server_->api_port(); }
    // Creates an API token with `huxiaod token create`.
    // `districts`: "D-1,D-2" for an education token (which needs at least one).
    std::string make_token(const std::string& role, const std::string& name,
                           const std::string& unit = "", const std::string& districts = "");
    HttpReply get(const std::string& target, const std::string& token);

    // A client that presents the certificate of `terminal`.
    std::unique_ptr<TerminalClient> client(const std::string& terminal);
    std::unique_ptr<TerminalClient> hello(const std::string& terminal);
    // A dispatch console that authenticates with its first message, as the
    // browser does (contract 1.1); the snapshot is left to read.
    std::unique_ptr<WsClient> console(const std::string& token);
    // A patrol unit's session (bearer token in the upgrade), its welcome read.
    std::unique_ptr<WsClient> unit(const std::string& token);
    // For outcomes with no message to wait for: eventually() in
    // tests/support/eventually.hpp.

    std::unique_ptr<TestDatabase> db_;
    std::filesystem::path dir_;
    std::unique_ptr<CertFactory> certs_;
    nlohmann::json config_;
    std::unique_ptr<ServerProcess> server_;
    std::map<std::string, CertFactory::Pair> terminal_certs_;
};

}  // namespace huxiao::test
