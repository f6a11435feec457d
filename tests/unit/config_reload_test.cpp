// What a configuration reload applies live and what it reports as needing a
// restart (common/config/config_reload).
#include "common/config/config_reload.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace huxiao {
namespace {

using nlohmann::json;
using Sections = std::vector<std::string>;

json minimal() {
    return json::parse(R"({
        "database": { "url": "postgresql://huxiao@127.0.0.1:5432/huxiao" },
        "terminal_listener": { "cert": "certs/server.crt", "key": "certs/server.key",
                               "client_ca": "certs/terminal-ca.crt" },
        "api_listener": { "cert": "certs/server.crt", "key": "certs/server.key" }
    })");
}

Config parse(const json& doc) { return parse_config(doc.dump(), "/etc/huxiao", std::nullopt); }

TEST(RestartOnlyKeys, AnUnchangedFileNeedsNoRestart) {
    EXPECT_EQ(sections_needing_restart(parse(minimal()), parse(minimal())), Sections{});
}

TEST(RestartOnlyKeys, NewTlsFilesAndLogSettingsAreLive) {
    json changed = minimal();
    changed["terminal_listener"]["cert"] = "certs/2027/server.crt";
    changed["terminal_listener"]["key"] = "certs/2027/server.key";
    changed["terminal_listener"]["client_ca"] = "certs/2027/terminal-ca.crt";
    changed["terminal_listener"]["session_ticket_key"] = "certs/ticket.key";
    changed["api_listener"]["cert"] = "certs/2027/api.crt";
    changed["api_listener"]["key"] = "certs/2027/api.key";
    changed["api_listener"]["session_ticket_key"] = "certs/api-ticket.key";
    changed["log"] = {{"level", "debug"}, {"format", "text"}};
    EXPECT_EQ(sections_needing_restart(parse(minimal()), parse(changed)), Sections{});
}

TEST(RestartOnlyKeys, OtherKeysAreNamedBySectionInFileOrder) {
    json changed = minimal();
    changed["dispatch"] = {{"offer_timeout_s", 30}};
    changed["database"]["pool_size"] = 8;
    changed["sla"] = {{"arrival_s", 240}};
    changed["calendar"] = {{"tz", "Asia/Urumqi"}};
    EXPECT_EQ(sections_needing_restart(parse(minimal()), parse(changed)),
              (Sections{"database", "dispatch", "sla", "calendar"}));
}

TEST(RestartOnlyKeys, AListenerPortOrLimitNeedsARestartEvenWithNewCertificates) {
    json changed = minimal();
    changed["terminal_listener"]["cert"] = "certs/2027/server.crt";
    changed["terminal_listener"]["port"] = 7444;
    changed["api_listener"]["max_connections"] = 100;
    changed["dc09_listener"] = {{"enabled", true}};
    changed["supervision"] = {{"heartbeat_s", 20}};
    EXPECT_EQ(sections_needing_restart(parse(minimal()), parse(changed)),
              (Sections{"terminal_listener", "api_listener", "dc09_listener", "supervision"}));
}

}  // namespace
}  // namespace huxiao
