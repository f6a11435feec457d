#include "common/config/config_reload.hpp"

namespace huxiao {

namespace {
// `file` with its live keys set to the running values: what is left to
// differ needs a restart.
Config without_live_keys(const Config& running, Config file) {
    auto& t = file.terminal_listener;
    t.cert = running.terminal_listener.cert;
    t.key = running.terminal_listener.key;
    t.client_ca = running.terminal_listener.client_ca;
    t.session_ticket_key = running.terminal_listener.session_ticket_key;
    auto& a = file.api_listener;
    a.cert = running.api_listener.cert;
    a.key = running.api_listener.key;
    a.session_ticket_key = running.api_listener.session_ticket_key;
    file.log = running.log;
    return file;
}
}  // namespace

std::vector<std::string> sections_needing_restart(const Config& running, const Config& file) {
    const Config f = without_live_keys(running, file);
    std::vector<std::string> sections;
    const auto check = [&sections](bool same, const char* name) {
        if (!same) sections.emplace_back(name);
    };
    check(f.database == running.database, "database");
    check(f.terminal_listener == running.terminal_listener, "terminal_listener");
    check(f.api_listener == running.api_listener, "api_listener");
    check(f.dc09_listener == running.dc09_listener, "dc09_listener");
    check(f.dispatch == running.dispatch, "dispatch");
    check(f.supervision == running.supervision, "supervision");
    check(f.sla == running.sla, "sla");
    check(f.calendar == running.calendar, "calendar");
    check(f.ha == running.ha, "ha");
    // A section added to Config but not named above still makes a reload say
    // that a restart is needed, rather than pass unnoticed.
    if (sections.empty() && !(f == running)) sections.emplace_back("(a section not named here)");
    return sections;
}

}  // namespace huxiao
