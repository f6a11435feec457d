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
#include <optional>
#include <string>

struct ssl_st;

namespace huxiao::net {

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

// The subject CN of the peer's verified certificate, if any.
std::optional<std::string> peer_common_name(ssl_st* ssl);

}  // namespace huxiao::net
