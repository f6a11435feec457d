// TLS contexts for the two listeners. The terminal listener demands a client
// certificate chaining to the terminal CA (mutual TLS); the API listener does
// not (browsers and units authenticate with tokens).
//
// Policy on both (issue #8 item 9): TLS 1.2 minimum; for 1.2 only ECDHE key
// exchange with AEAD ciphers (OpenSSL's 1.3 suites are all AEAD); no
// renegotiation; a sized session cache and session tickets, whose key may be
// read from a file so that a standby server can resume its peer's sessions.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

struct ssl_st;

namespace huxiao {

struct TlsOptions {
    // The config key the ticket key came from, for error messages.
    std::string ticket_key_setting;
    // 80 bytes (OpenSSL's ticket key name, HMAC and AES keys); empty path:
    // OpenSSL's random per-process key.
    std::filesystem::path session_ticket_key;
    long session_cache_size = 20480;
};

// The TLS 1.2 cipher list: forward secrecy and AEAD only.
extern const char* const kTls12Ciphers;

// Throws std::runtime_error naming the file that could not be used.
boost::asio::ssl::context make_server_tls(const std::filesystem::path& cert,
                                          const std::filesystem::path& key,
                                          const std::optional<std::filesystem::path>& client_ca,
                                          const TlsOptions& options = {});

// The TLS context a listener gives its new connections. A reload of the
// certificate (SIGHUP, POST /api/v1/admin/reload) replaces it; connections
// made before keep the one they were made with (OpenSSL counts references to
// it from each connection), so a rotation never drops a connected terminal.
class TlsContextHolder {
  public:
    explicit TlsContextHolder(boost::asio::ssl::context ctx);
    // Thread-safe.
    std::shared_ptr<boost::asio::ssl::context> current() const;
    // Thread-safe. `keep_ticket_keys`: the new context takes the ticket keys
    // of the current one, so that sessions resume across the rotation when no
    // key file is configured (a configured file is loaded by make_server_tls).
    void replace(boost::asio::ssl::context ctx, bool keep_ticket_keys);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> ctx_;
};

// The context's certificate for the log: "CN=localhost, serial 1F..., valid
// until 2026-12-30 12:00:00 UTC".
std::string describe_certificate(boost::asio::ssl::context& ctx);

// Why the context's own certificate cannot be used now ("has expired", "is
// not valid yet"), or nothing. A reload refuses such a certificate and keeps
// the one in use.
std::optional<std::string> certificate_not_valid_now(boost::asio::ssl::context& ctx);

// The subject CN of the peer's verified certificate, if any.
std::optional<std::string> peer_common_name(ssl_st* ssl);

}  // namespace huxiao
