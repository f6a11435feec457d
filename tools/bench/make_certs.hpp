// huxiao-bench --make-certs: a bench registry with certificates, made
// in-process (500 EC keys take well under a second, the openssl CLI minutes).
#pragma once

#include <filesystem>
#include <string>

namespace huxiao::bench {

// Writes into `dir`: server-ca.crt, server.crt, server.key, terminal-ca.crt,
// <TERMINAL>.crt/.key for `terminals` terminals named terminal_id(prefix, i),
// and registry.json (contract §7): one district D-BENCH, one school per
// terminal (terminal_id(school_prefix, i)), no units.
void make_certs(const std::filesystem::path& dir, int terminals, const std::string& prefix,
                const std::string& school_prefix);

}  // namespace huxiao::bench
