// Real X.509 certificates made in-process for TLS tests: a server CA and
// server certificate, a terminal CA with terminal certificates, and the bad
// cases (another CA, expired). Written as PEM files into a directory.
#pragma once

#include <filesystem>
#include <string>

struct x509_st;

namespace huxiao::test {

// The SHA-256 fingerprint (hex) of a certificate.
std::string sha256_hex(x509_st* cert);

class CertFactory {
  public:
    explicit CertFactory(std::filesystem::path dir);
    ~CertFactory();
    CertFactory(const CertFactory&) = delete;
    CertFactory& operator=(const CertFactory&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path server_cert() const { return dir_ / "server.crt"; }
    std::filesystem::path server_key() const { return dir_ / "server.key"; }
    std::filesystem::path server_ca() const { return dir_ / "server-ca.crt"; }
    std::filesystem::path terminal_ca() const { return dir_ / "terminal-ca.crt"; }
    std::filesystem::path server_ca_path() const;

    struct Pair {
        std::filesystem::path cert;
        std::filesystem::path key;
    };
    // A terminal certificate with subject CN = `cn`, signed by the terminal CA.
    Pair terminal(const std::string& cn);
    // Signed by the terminal CA but expired yesterday.
    Pair expired_terminal(const std::string& cn);
    // Signed by a CA the server does not trust.
    Pair foreign_terminal(const std::string& cn);
    // A new server certificate and key (CN localhost, signed by the server
    // CA) written over server_cert() and server_key(): a rotation. `expired`:
    // one that expired yesterday.
    void renew_server_certificate(bool expired = false);

    // The SHA-256 fingerprint (hex) of the PEM certificate in `file`.
    static std::string fingerprint(const std::filesystem::path& file);

  private:
    struct Impl;
    std::filesystem::path dir_;
    Impl* impl_;
};

}  // namespace huxiao::test
