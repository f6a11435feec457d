#include "server/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace huxiao::net {

namespace ssl = boost::asio::ssl;

namespace {
void use(bool ok, const std::string& what, const std::filesystem::path& file) {
    if (!ok) throw std::runtime_error("cannot use " + what + " " + file.string());
}
}  // namespace

ssl::context make_server_tls(const std::filesystem::path& cert, const std::filesystem::path& key,
                             const std::optional<std::filesystem::path>& client_ca) {
    ssl::context ctx(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::single_dh_use);
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(cert.string(), ec);
    use(!ec, "certificate", cert);
    ctx.use_private_key_file(key.string(), ssl::context::pem, ec);
    use(!ec, "private key", key);
    if (client_ca) {
        ctx.load_verify_file(client_ca->string(), ec);
        use(!ec, "client CA", *client_ca);
        // Only certificates issued by the terminal CA are accepted; the CA
        // names are announced so terminals with several certificates pick
        // the right one.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca->c_str());
        if (names) SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
        ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
}

std::optional<std::string> peer_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return std::nullopt;
    std::optional<std::string> cn;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME* subject = X509_get_subject_name(cert);
        const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (idx >= 0) {
            ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
            unsigned char* utf8 = nullptr;
            const int len = ASN1_STRING_to_UTF8(&utf8, data);
            if (len >= 0) {
                cn.emplace(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
                OPENSSL_free(utf8);
            }
        }
    }
    X509_free(cert);
    return cn;
}

}  // namespace huxiao::net
