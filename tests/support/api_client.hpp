// HTTPS and WebSocket clients for tests of the API listener, over real TLS
// on loopback, with timeouts so that a broken server fails a test instead of
// hanging it.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace huxiao::test {

struct HttpReply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// One request per connection.
HttpReply https_request(int port, const std::filesystem::path& server_ca, const std::string& method,
                        const std::string& target, const std::string& token = "",
                        const std::string& body = "");

class WsClient {
  public:
    WsClient(int port, const std::filesystem::path& server_ca);
    ~WsClient();
    // Upgrades `path`; with a non-empty `bearer` it goes in the Authorization header.
    bool connect(const std::string& path, const std::string& bearer = "");
    // The HTTP status of the upgrade's answer (101, or the refusal's), 0 if none came.
    int upgrade_status() const;
    bool send(const nlohmann::json& message);
    bool send_text(const std::string& text);
    std::optional<nlohmann::json> read(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // The next message of `type`; others before it stay queued for later reads.
    std::optional<nlohmann::json> read_type(
        const std::string& type, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // After wait_closed(): the code and reason of the server's close frame
    // (0 and "" when the connection ended without one).
    int close_code() const;
    std::string close_reason() const;

  private:
    std::optional<nlohmann::json> read_new(std::chrono::milliseconds timeout);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace huxiao::test
