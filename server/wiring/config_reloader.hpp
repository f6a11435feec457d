// Reload without restart (issue #16 item 5): on SIGHUP or POST
// /api/v1/admin/reload the configuration file is read again and what can
// change live is applied (common/config/config_reload.hpp): new TLS contexts
// for both listeners, from the certificate, key, client CA and ticket key
// files as they are now, so a certificate is rotated without dropping a
// connected terminal; and the log level and format.
//
// All or nothing: a file that does not parse, a certificate that does not
// load, match its key or is not valid now, refuses the whole reload with a
// message naming the key and file, and everything in use stays in use.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/config/config_reload.hpp"

namespace huxiao {

namespace net {
class TerminalListener;
class ApiListener;
}  // namespace net

class ConfigReloader {
  public:
    // `running`: the configuration the server started with (it outlives this).
    // An empty `file`: the server was not started from a file; reloads refuse.
    // A standby (contract §8) has no terminal listener yet: it is attached
    // when the server becomes the leader, and until then a reload checks the
    // terminal certificate without installing it (the listener reads the
    // files when it is made).
    ConfigReloader(std::filesystem::path file, const Config& running, net::ApiListener& api);
    void attach_terminals(net::TerminalListener& terminals);

    // Thread-safe, one reload at a time; blocking (reads files): call it off
    // the I/O threads. `why` goes to the log ("SIGHUP", "... by token X").
    ReloadOutcome reload(const std::string& why);

  private:
    std::filesystem::path file_;
    const Config& running_;
    net::TerminalListener* terminals_ = nullptr;
    net::ApiListener& api_;
    std::mutex mutex_;
};

}  // namespace huxiao
