// A school terminal for tests: real TCP and TLS on loopback, with a client
// certificate (or none), reading and writing JSON lines with timeouts.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/support/certs.hpp"

namespace huxiao::test {

class TerminalClient {
  public:
    // `cert` null: connect without a client certificate.
    TerminalClient(int port, const CertFactory::Pair* cert, const std::filesystem::path& server_ca);
    ~TerminalClient();

    // TCP connect and TLS handshake; false (with `error`) when refused.
    bool connect(std::string* error = nullptr);
    // connect(), send hello for `terminal`, and expect welcome; throws otherwise.
    void connect_and_hello(const std::string& terminal);

    bool send_line(const std::string& line);  // appends '\n'
    bool send_raw(const std::string& bytes);
    bool send(const nlohmann::json& frame) { return send_line(frame.dump()); }

    // The next frame, or nothing on timeout, close or error.
    std::optional<nlohmann::json> read_frame(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // The next frame of `type`; frames of other types before it (e.g. status
    // pushes) are kept and returned by later reads, in order.
    std::optional<nlohmann::json> read_frame_of_type(
        const std::string& type, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // True when the server closes the connection (EOF or error) within timeout.
    bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // After wait_closed: whether the server sent TLS close_notify first.
    bool closed_cleanly() const;

    // TLS knobs for tests of the TLS policy; call before connect().
    // Versions as OpenSSL's TLS1_2_VERSION etc.; 0 leaves the library default.
    void set_tls_versions(int min_version, int max_version);
    // Lets the client offer TLS 1.0/1.1 (OpenSSL's security level 0).
    void allow_legacy_tls();
    // Without tickets a TLS 1.2 session resumes from the server's session cache.
    void disable_session_tickets();
    // Offers `session` (from session() of an earlier connection) on connect().
    void resume(const std::string& session);

    // After connect(): the session, DER-encoded, for resume() (empty if none).
    std::string session() const;
    bool resumed() const;
    std::string protocol() const;  // "TLSv1.2", "TLSv1.3"
    // After connect(): the SHA-256 fingerprint (hex) of the server's certificate.
    std::string server_fingerprint() const;

  private:
    std::optional<nlohmann::json> read_new_frame(std::chrono::milliseconds timeout);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace huxiao::test
