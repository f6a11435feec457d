#include "server/wiring/config_reloader.hpp"

#include <algorithm>
#include <optional>

#include "common/config/config_reload.hpp"
#include "server/base/log.hpp"
#include "server/net/api_listener.hpp"
#include "server/net/terminal_listener.hpp"
#include "server/sessions/tls.hpp"

namespace huxiao {

namespace ssl = boost::asio::ssl;

namespace {

// A context from `file`'s TLS paths; its certificate must be valid now.
// Throws std::runtime_error naming the section and the file.
ssl::context load_tls(const std::string& section, const std::filesystem::path& cert,
                      const std::filesystem::path& key,
                      const std::optional<std::filesystem::path>& client_ca,
                      const std::filesystem::path& ticket_key, long cache_size) {
    std::optional<ssl::context> ctx;
    try {
        ctx.emplace(make_server_tls(cert, key, client_ca,
                                    {section + ".session_ticket_key", ticket_key, cache_size}));
    } catch (const std::exception& e) {
        throw std::runtime_error(section + ": " + e.what());
    }
    if (auto problem = certificate_not_valid_now(*ctx)) {
        throw std::runtime_error(section + ".cert: " + cert.string() + " " + *problem);
    }
    return std::move(*ctx);
}

}  // namespace

ConfigReloader::ConfigReloader(std::filesystem::path file, const Config& running,
                               net::ApiListener& api)
    : file_(file.empty() ? file : std::filesystem::absolute(file)), running_(running), api_(api) {}

void ConfigReloader::attach_terminals(net::TerminalListener& terminals) {
    std::lock_guard lock(mutex_);
    terminals_ = &terminals;
}

ReloadOutcome ConfigReloader::reload(const std::string& why) {
    std::lock_guard lock(mutex_);
    ReloadOutcome out;
    const auto refuse = [&out, &why](std::string error) {
        out.error = std::move(error);
        log_error("config", "reload after " + why + " refused: " + out.error +
                                "; the running configuration stays in use");
        return out;
    };
    if (file_.empty()) return refuse("the server was not started from a configuration file");

    // Everything is loaded before anything is applied.
    Config file;
    std::optional<ssl::context> terminal_tls, api_tls;
    try {
        file = load_config_file(file_);
        const auto& t = file.terminal_listener;
        const auto& a = file.api_listener;
        // Cache sizes follow max_connections, which only a restart changes.
        terminal_tls.emplace(
            load_tls("terminal_listener", t.cert, t.key, t.client_ca, t.session_ticket_key,
                     std::max<long>(1024, running_.terminal_listener.max_connections)));
        api_tls.emplace(load_tls("api_listener", a.cert, a.key, std::nullopt, a.session_ticket_key,
                                 std::max<long>(1024, running_.api_listener.max_connections)));
    } catch (const std::exception& e) {
        return refuse(e.what());
    }

    out.applied_settings.push_back("terminal_listener certificate: " +
                                   describe_certificate(*terminal_tls));
    out.applied_settings.push_back("api_listener certificate: " + describe_certificate(*api_tls));
    out.applied_settings.push_back("log: level " + file.log.level + ", format " + file.log.format);
    // Without a ticket key file each context has random keys of its own: the
    // new one takes the old one's, so terminals resume across the rotation.
    if (terminals_) {
        terminals_->replace_tls(std::move(*terminal_tls),
                                file.terminal_listener.session_ticket_key.empty());
    }
    api_.replace_tls(std::move(*api_tls), file.api_listener.session_ticket_key.empty());
    configure_logging(file.log.level, file.log.format);
    out.applied = true;
    out.restart_required = sections_needing_restart(running_, file);

    std::string applied;
    for (const auto& s : out.applied_settings) applied += (applied.empty() ? "" : "; ") + s;
    log_info("config", "reloaded " + file_.string() + " after " + why + ": " + applied);
    if (!out.restart_required.empty()) {
        std::string sections;
        for (const auto& s : out.restart_required) sections += (sections.empty() ? "" : ", ") + s;
        log_warn("config", file_.string() + " changes keys of " + sections +
                               " that take effect only after a restart; the running values "
                               "stay in use until then");
    }
    return out;
}

}  // namespace huxiao
