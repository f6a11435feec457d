#include "server/sessions/tls.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace huxiao {

namespace ssl = boost::asio::ssl;

namespace {
void use(bool ok, const std::string& what, const std::filesystem::path& file) {
    if (!ok) throw std::runtime_error("cannot use " + what + " " + file.string());
}

// OpenSSL 3 takes 16 bytes of key name, 32 of HMAC key and 32 of AES key.
constexpr std::size_t kTicketKeyBytes = 80;

void load_ticket_key(SSL_CTX* ctx, const TlsOptions& options) {
    const auto& file = options.session_ticket_key;
    const std::string where = options.ticket_key_setting + ": " + file.string();
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(where + ": cannot read the session ticket key");
    std::vector<unsigned char> key((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
    if (key.size() != kTicketKeyBytes) {
        throw std::runtime_error(where + ": a session ticket key file holds exactly " +
                                 std::to_string(kTicketKeyBytes) + " random bytes (got " +
                                 std::to_string(key.size()) + ")");
    }
    if (SSL_CTX_set_tlsext_ticket_keys(ctx, key.data(), static_cast<long>(key.size())) != 1) {
        throw std::runtime_error(where + ": OpenSSL refused the session ticket key");
    }
    OPENSSL_cleanse(key.data(), key.size());
}
}  // namespace

const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

ssl::context make_server_tls(const std::filesystem::path& cert, const std::filesystem::path& key,
                             const std::optional<std::filesystem::path>& client_ca,
                             const TlsOptions& options) {
    ssl::context ctx(ssl::context::tls_server);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::single_dh_use);
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
        throw std::runtime_error("OpenSSL refused the TLS 1.2 cipher list");
    }
    // An idle connection keeps no 17 KB read and write record buffers:
    // OpenSSL frees them between records (bench/scale.sh: 20,000 idle
    // terminals, docs/performance.md §12).
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(native, options.session_cache_size);
    if (!options.session_ticket_key.empty()) load_ticket_key(native, options);
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
        // Without a session id context OpenSSL fails the handshake of every
        // resumed session on a listener that verifies client certificates.
        static constexpr unsigned char kContext[] = "huxiao-terminal";
        SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
    }
    return ctx;
}

TlsContextHolder::TlsContextHolder(ssl::context ctx)
    : ctx_(std::make_shared<ssl::context>(std::move(ctx))) {}

std::shared_ptr<ssl::context> TlsContextHolder::current() const {
    std::lock_guard lock(mutex_);
    return ctx_;
}

void TlsContextHolder::replace(ssl::context ctx, bool keep_ticket_keys) {
    auto fresh = std::make_shared<ssl::context>(std::move(ctx));
    std::lock_guard lock(mutex_);
    if (keep_ticket_keys) {
        unsigned char keys[kTicketKeyBytes];
        if (SSL_CTX_get_tlsext_ticket_keys(ctx_->native_handle(), keys, sizeof keys) == 1) {
            SSL_CTX_set_tlsext_ticket_keys(fresh->native_handle(), keys, sizeof keys);
        }
        OPENSSL_cleanse(keys, sizeof keys);
    }
    ctx_ = std::move(fresh);
}

std::string describe_certificate(ssl::context& ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
    if (!cert) return "no certificate";
    std::string text;
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
    text += name;
    if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
        if (char* hex = BN_bn2hex(serial)) {
            text += std::string(", serial ") + hex;
            OPENSSL_free(hex);
        }
        BN_free(serial);
    }
    tm until{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &until) == 1) {
        char when[64];
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &until);
        text += std::string(", valid until ") + when;
    }
    return text;
}

std::optional<std::string> certificate_not_valid_now(ssl::context& ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
    if (!cert) return "holds no certificate";
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) return "is not valid yet";
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) return "has expired";
    return std::nullopt;
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

}  // namespace huxiao
