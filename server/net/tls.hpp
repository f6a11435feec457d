// TLS contexts for the two listeners. The terminal listener demands a client
// certificate chaining to the terminal CA (mutual TLS); the API listener does
// not (browsers and units authenticate with tokens).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <optional>
#include <string>

struct ssl_st;

namespace huxiao::net {

// Throws std::runtime_error naming the file that could not be used.
boost::asio::ssl::context make_server_tls(const std::filesystem::path& cert,
                                          const std::filesystem::path& key,
                                          const std::optional<std::filesystem::path>& client_ca);

// The subject CN of the peer's verified certificate, if any.
std::optional<std::string> peer_common_name(ssl_st* ssl);

}  // namespace huxiao::net
