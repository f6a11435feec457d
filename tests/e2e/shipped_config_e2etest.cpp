// The configuration files the repository ships parse as huxiaod would read
// them: the example, and the two nodes of docker/compose.ha.yaml (which no
// test here can start: it needs Docker).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/config/config.hpp"

namespace huxiao {
namespace {

Config shipped(const std::string& relative) {
    const std::filesystem::path file = std::filesystem::path(HUXIAO_SOURCE_DIR) / relative;
    std::ifstream in(file, std::ios::binary);
    EXPECT_TRUE(in) << "cannot read " << file;
    std::stringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), file.parent_path(), std::nullopt);
}

TEST(ShippedConfig, TheExampleParsesAndRunsAlone) {
    const Config c = shipped("config/huxiao.example.json");
    EXPECT_FALSE(c.ha.enabled);
    EXPECT_EQ(c.terminal_listener.port, 7443);
}

TEST(ShippedConfig, TheComposeHaNodesAreTwoNodesOfOneClusterOnTheThreeDatabases) {
    const Config a = shipped("docker/ha/huxiao-a.json");
    const Config b = shipped("docker/ha/huxiao-b.json");
    for (const Config* c : {&a, &b}) {
        EXPECT_TRUE(c->ha.enabled);
        EXPECT_NE(c->database.url.find("@pg1:5432,pg2:5432,pg3:5432/"), std::string::npos);
        EXPECT_NE(c->database.url.find("target_session_attrs=read-write"), std::string::npos);
        EXPECT_NE(c->database.read_url.find("target_session_attrs=prefer-standby"),
                  std::string::npos);
    }
    EXPECT_EQ(a.ha.node, "a");
    EXPECT_EQ(b.ha.node, "b");
    EXPECT_NE(a.ha.advertise_terminal, b.ha.advertise_terminal);
    EXPECT_NE(a.ha.advertise_api, b.ha.advertise_api);
}

}  // namespace
}  // namespace huxiao
