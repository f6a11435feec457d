#include "tests/support/certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>

namespace huxiao::test {

namespace {

EVP_PKEY* new_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) throw std::runtime_error("EC key generation failed");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("bad extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// Issues a certificate for `key` named `cn`; self-signed when issuer is null.
X509* issue(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
            long not_before_s, long not_after_s, bool server = false) {
    static long serial = 1000;
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(cert), not_after_s);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("huxiao tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : cert;
    if (ca) {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, signer, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
        if (server) add_ext(cert, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    }
    if (X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
        throw std::runtime_error("signing failed");
    }
    return cert;
}

void write_cert(const std::filesystem::path& path, X509* cert) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + path.string());
    PEM_write_X509(f, cert);
    std::fclose(f);
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + path.string());
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
}

constexpr long kDay = 86400;

}  // namespace

std::string sha256_hex(X509* cert) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) return {};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0xf];
    }
    return hex;
}

namespace {}  // namespace

struct CertFactory::Impl {
    EVP_PKEY* server_ca_key = nullptr;
    X509* server_ca = nullptr;
    EVP_PKEY* terminal_ca_key = nullptr;
    X509* terminal_ca = nullptr;
    EVP_PKEY* foreign_ca_key = nullptr;
    X509* foreign_ca = nullptr;

    ~Impl() {
        X509_free(server_ca);
        EVP_PKEY_free(server_ca_key);
        X509_free(terminal_ca);
        X509_free(foreign_ca);
        EVP_PKEY_free(terminal_ca_key);
        EVP_PKEY_free(foreign_ca_key);
    }
};

CertFactory::CertFactory(std::filesystem::path dir) : dir_(std::move(dir)), impl_(new Impl) {
    std::filesystem::create_directories(dir_);
    impl_->server_ca_key = new_key();
    impl_->server_ca = issue(impl_->server_ca_key, "huxiao test server CA", nullptr, nullptr, true,
                             -kDay, 30 * kDay);
    write_cert(server_ca_path(), impl_->server_ca);
    renew_server_certificate();

    impl_->terminal_ca_key = new_key();
    impl_->terminal_ca = issue(impl_->terminal_ca_key, "huxiao test terminal CA", nullptr, nullptr,
                               true, -kDay, 30 * kDay);
    write_cert(terminal_ca(), impl_->terminal_ca);
    impl_->foreign_ca_key = new_key();
    impl_->foreign_ca =
        issue(impl_->foreign_ca_key, "some other CA", nullptr, nullptr, true, -kDay, 30 * kDay);
}

CertFactory::~CertFactory() { delete impl_; }

std::filesystem::path CertFactory::server_ca_path() const { return server_ca(); }

namespace {
CertFactory::Pair make_pair(const std::filesystem::path& dir, const std::string& file,
                            const std::string& cn, X509* ca, EVP_PKEY* ca_key, long from, long to) {
    EVP_PKEY* key = new_key();
    X509* cert = issue(key, cn, ca, ca_key, false, from, to);
    CertFactory::Pair pair{dir / (file + ".crt"), dir / (file + ".key")};
    write_cert(pair.cert, cert);
    write_key(pair.key, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return pair;
}
}  // namespace

CertFactory::Pair CertFactory::terminal(const std::string& cn) {
    return make_pair(dir_, cn, cn, impl_->terminal_ca, impl_->terminal_ca_key, -kDay, 30 * kDay);
}

CertFactory::Pair CertFactory::expired_terminal(const std::string& cn) {
    return make_pair(dir_, cn + ".expired", cn, impl_->terminal_ca, impl_->terminal_ca_key,
                     -30 * kDay, -kDay);
}

void CertFactory::renew_server_certificate(bool expired) {
    EVP_PKEY* key = new_key();
    X509* cert = issue(key, "localhost", impl_->server_ca, impl_->server_ca_key, false,
                       expired ? -30 * kDay : -kDay, expired ? -kDay : 30 * kDay, true);
    write_cert(server_cert(), cert);
    write_key(server_key(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
}

std::string CertFactory::fingerprint(const std::filesystem::path& file) {
    FILE* f = std::fopen(file.c_str(), "r");
    if (!f) throw std::runtime_error("cannot read " + file.string());
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!cert) throw std::runtime_error(file.string() + " holds no certificate");
    const std::string hex = sha256_hex(cert);
    X509_free(cert);
    return hex;
}

CertFactory::Pair CertFactory::foreign_terminal(const std::string& cn) {
    return make_pair(dir_, cn + ".foreign", cn, impl_->foreign_ca, impl_->foreign_ca_key, -kDay,
                     30 * kDay);
}

}  // namespace huxiao::test
