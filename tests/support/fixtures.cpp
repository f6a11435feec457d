#include "tests/support/fixtures.hpp"

#include <fstream>
#include <random>

namespace huxiao::test {

const char* const kSmallRegistry = R"({
  "districts": [{"id": "D-1", "name": "Jianghan", "sla": {"arrival_s": 300}}],
  "schools": [
    {"id": "S-1", "name": "No.1 Primary", "district": "D-1", "lat": 30.5928, "lon": 114.3055},
    {"id": "S-2", "name": "No.2 Middle", "district": "D-1", "lat": 30.6010, "lon": 114.2700}
  ],
  "terminals": [
    {"id": "T-1", "school": "S-1", "enabled": true},
    {"id": "T-1B", "school": "S-1", "enabled": true},
    {"id": "T-2", "school": "S-2", "enabled": true},
    {"id": "T-9", "school": "S-2", "enabled": false}
  ],
  "units": [{"id": "P-1", "callsign": "Patrol 1", "district": "D-1", "lat": 30.59, "lon": 114.29}],
  "guard_posts": [{"school": "S-1", "unit": "P-1", "days": "mon-fri",
                   "windows": ["07:00-08:30", "16:30-18:00"], "tz": "Asia/Shanghai"}]
})";

std::filesystem::path make_temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

void ServerTest::SetUp() {
    db_ = std::make_unique<TestDatabase>();
    dir_ = make_temp_dir("huxiao-e2e");
    certs_ = std::make_unique<CertFactory>(dir_ / "certs");
    for (const char* t : {"T-1", "T-1B", "T-2", "T-9", "T-404"})
        terminal_certs_[t] = certs_->terminal(t);
    config_ = test_config(db_->url(), *certs_);
    std::ofstream(dir_ / "huxiao.json") << config_.dump(2);
    std::ofstream(dir_ / "registry.json") << kSmallRegistry;
    auto imported = run_huxiaod(
        {"import", "--config", (dir_ / "huxiao.json").string(), (dir_ / "registry.json").string()});
    ASSERT_EQ(imported.status, 0) << imported.err;
}

void ServerTest::TearDown() {
    server_.reset();
    if (!HasFailure()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    } else {
        std::fprintf(stderr, "test files kept in %s\n", dir_.c_str());
    }
    db_.reset();
}

void ServerTest::start_server() {
    server_.reset();
    server_ = std::make_unique<ServerProcess>(config_, dir_ / "server");
}

std::unique_ptr<TerminalClient> ServerTest::client(const std::string& terminal) {
    return std::make_unique<TerminalClient>(port(), &terminal_certs_.at(terminal),
                                            certs_->server_ca());
}

std::unique_ptr<TerminalClient> ServerTest::hello(const std::string& terminal) {
    auto c = client(terminal);
    c->connect_and_hello(terminal);
    return c;
}

std::unique_ptr<WsClient> ServerTest::console(const std::string& token) {
    auto ws = std::make_unique<WsClient>(api_port(), certs_->server_ca());
    if (!ws->connect("/ws/console")) throw std::runtime_error("no WebSocket");
    ws->send({{"type", "auth"}, {"token", token}});
    return ws;
}

std::unique_ptr<WsClient> ServerTest::unit(const std::string& token) {
    auto ws = std::make_unique<WsClient>(api_port(), certs_->server_ca());
    if (!ws->connect("/ws/unit", token)) throw std::runtime_error("no WebSocket");
    if (!ws->read_type("welcome")) throw std::runtime_error("no welcome");
    return ws;
}

}  // namespace huxiao::test

namespace huxiao::test {

std::string ServerTest::make_token(const std::string& role, const std::string& name,
                                   const std::string& unit, const std::string& districts) {
    std::vector<std::string> args{"token",  "create", "--config", (dir_ / "huxiao.json").string(),
                                  "--role", role,     "--name",   name};
    if (!unit.empty()) {
        args.push_back("--unit");
        args.push_back(unit);
    }
    if (!districts.empty()) {
        args.push_back("--districts");
        args.push_back(districts);
    }
    auto r = run_huxiaod(args);
    if (r.status != 0) throw std::runtime_error("token create failed: " + r.err);
    return r.out.substr(0, r.out.find('\n'));
}

HttpReply ServerTest::get(const std::string& target, const std::string& token) {
    return https_request(api_port(), certs_->server_ca(), "GET", target, token);
}

}  // namespace huxiao::test
