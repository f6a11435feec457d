// The web console serves only itself (contract 1.1, issue #8 item 1): its
// files are compiled into huxiaod and answered by exact path; no request can
// name another file of the machine. Also the console's security headers and
// who may read /metrics. Against the real server over TLS.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/fixtures.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;

// Writes `request` byte for byte over TLS to host:port (for targets no HTTP
// library would send, and for a client address that is not loopback) and
// returns all the server answers until it closes or 10 s pass.
std::string raw_https(int port, const std::filesystem::path& server_ca, const std::string& request,
                      const std::string& host = "127.0.0.1") {
    asio::io_context io;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.load_verify_file(server_ca.string());
    tls.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, tls);
    stream.next_layer().connect(
        asio::ip::tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)));
    const timeval timeout{10, 0};
    ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof timeout);
    stream.handshake(asio::ssl::stream_base::client);
    asio::write(stream, asio::buffer(request));
    std::string answer;
    char chunk[4096];
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n = stream.read_some(asio::buffer(chunk), ec);
        answer.append(chunk, n);
        if (ec) break;  // closed, reset or timed out
    }
    return answer;
}

// The status of a raw answer ("HTTP/1.1 403 ..." -> 403), 0 if none.
int status_of(const std::string& answer) {
    if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12) return 0;
    return std::stoi(answer.substr(9, 3));
}

std::string source_file(const std::string& relative) {
    std::ifstream in(std::string(HUXIAO_SOURCE_DIR) + "/" + relative, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class ConsoleFiles : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        if (HasFatalFailure()) return;
        start_server();
    }
    // The status line and body of a request sent byte for byte.
    std::string raw(const std::string& target) {
        return raw_https(
            api_port(), certs_->server_ca(),
            "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }
};

TEST_F(ConsoleFiles, TheConsoleIsServedWithItsContentTypes) {
    const struct {
        const char* target;
        const char* file;
        const char* type;
    } cases[] = {
        {"/", "web/index.html", "text/html; charset=utf-8"},
        {"/index.html", "web/index.html", "text/html; charset=utf-8"},
        {"/js/main.js", "web/js/main.js", "text/javascript; charset=utf-8"},
        {"/js/components/board.js", "web/js/components/board.js", "text/javascript; charset=utf-8"},
        {"/css/console.css", "web/css/console.css", "text/css; charset=utf-8"},
        {"/img/icon.svg", "web/img/icon.svg", "image/svg+xml"},
        {"/js/main.js?v=2", "web/js/main.js", "text/javascript; charset=utf-8"},
        {"/js/%6dain.js", "web/js/main.js", "text/javascript; charset=utf-8"},
    };
    for (const auto& c : cases) {
        auto r = get(c.target, "");
        ASSERT_EQ(r.status, 200) << c.target;
        EXPECT_EQ(r.headers["Content-Type"], c.type) << c.target;
        const std::string expected = source_file(c.file);
        ASSERT_FALSE(expected.empty()) << c.file;
        EXPECT_EQ(r.body, expected) << c.target;
    }
}

TEST_F(ConsoleFiles, NothingElseOfTheMachineCanBeNamed) {
    const std::string passwd = "root:";  // the first line of /etc/passwd
    // Each of these is 404 (no such console file) or 400 (malformed), and
    // never the content of a file.
    const char* targets[] = {
        "//etc/passwd",
        "/etc/passwd",
        "///etc/passwd",
        "/%2fetc/passwd",
        "/%2Fetc%2Fpasswd",
        "/..%2f..%2f..%2fetc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/index.html",
        "/../../../../etc/passwd",
        "/js/../index.html",
        "/./index.html",
        "/js/..",
        "/..\\..\\etc\\passwd",
        "/%5c..%5cetc%5cpasswd",
        "/index.html%00",
        "/index.html%00.js",
        "/%00",
        "/index.html%",
        "/index.html%zz",
        "//proc/self/environ",
        "/proc/self/environ",
        "//proc/self/cwd/web/index.html",
        "//proc/self/root/etc/passwd",
        "//dev/zero",
        "//dev/urandom",
        "/dev/zero",
        "/README.md",
        "/web/index.html",
        "/js/",
        "/js",
        "/index.html/",
        "/.git/config",
        "/huxiao.json",
        "/certs/server.key",
        "//tmp",
        "/api/../etc/passwd",
        "/%ff%fe",
    };
    for (const char* target : targets) {
        auto r = get(target, "");
        EXPECT_TRUE(r.status == 404 || r.status == 400) << target << " -> " << r.status;
        EXPECT_EQ(r.body.find(passwd), std::string::npos) << target;
        EXPECT_EQ(r.body.find("HUXIAO"), std::string::npos) << target;
        EXPECT_EQ(r.body.find("<!doctype html>"), std::string::npos) << target;
        EXPECT_LT(r.body.size(), 512u) << target;
        EXPECT_EQ(r.headers["Content-Type"], "application/json") << target;
    }
    // Bytes no HTTP client library would send: raw control characters,
    // backslashes and absolute-form targets.
    for (const std::string& target :
         {std::string("/index.html\x01"), std::string("/\\etc\\passwd"),
          std::string("\\\\etc\\passwd"), std::string("/etc/passwd\t"),
          std::string("file:///etc/passwd"), std::string("etc/passwd"), std::string("*")}) {
        const std::string answer = raw(target);
        EXPECT_EQ(answer.find(passwd), std::string::npos) << target;
        EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 400", 0) == 0 ||
                    answer.rfind("HTTP/1.1 404", 0) == 0)
            << target << " -> " << answer.substr(0, 40);
    }
    // The server is still there.
    EXPECT_EQ(get("/healthz", "").status, 200);
}

TEST_F(ConsoleFiles, MalformedTargetsAre400NamingTheProblem) {
    auto nul = get("/index.html%00", "");
    EXPECT_EQ(nul.status, 400);
    EXPECT_EQ(nul.json()["error"], "bad_path");
    EXPECT_EQ(nul.json()["message"], "control character in the path");
    auto dots = get("/%2e%2e/etc/passwd", "");
    EXPECT_EQ(dots.status, 400);
    EXPECT_EQ(dots.json()["message"], "dot segment in the path");
    auto backslash = get("/%5cetc", "");
    EXPECT_EQ(backslash.status, 400);
    EXPECT_EQ(backslash.json()["message"], "backslash in the path");
    auto escape = get("/index.html%g0", "");
    EXPECT_EQ(escape.status, 400);
    EXPECT_EQ(escape.json()["message"], "bad percent-encoding in the path");
    auto missing = get("//etc/passwd", "");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.json()["error"], "not_found");
}

TEST_F(ConsoleFiles, EveryResponseCarriesTheSecurityHeaders) {
    const std::string token = make_token("auditor", "reader");
    for (const auto& [target, who] :
         std::vector<std::pair<std::string, std::string>>{{"/", ""},
                                                          {"/js/main.js", ""},
                                                          {"//etc/passwd", ""},
                                                          {"/healthz", ""},
                                                          {"/api/v1/incidents", token},
                                                          {"/api/v1/incidents", ""}}) {
        auto r = get(target, who);
        const std::string csp = r.headers["Content-Security-Policy"];
        EXPECT_EQ(csp.rfind("default-src 'self';", 0), 0u) << target << ": " << csp;
        EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << target;
        EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << target;
        EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << target;
        EXPECT_EQ(r.headers["X-Content-Type-Options"], "nosniff") << target;
        EXPECT_EQ(r.headers["Referrer-Policy"], "no-referrer") << target;
        EXPECT_EQ(r.headers["X-Frame-Options"], "DENY") << target;
    }
}

TEST_F(ConsoleFiles, TheConsoleHasNoInlineScriptOrStyleThatCspWouldBlock) {
    // CSP default-src 'self' blocks inline <script> and <style> and style=""
    // attributes; every script and style must come from a file.
    const std::string html = get("/", "").body;
    for (std::size_t at = html.find("<script"); at != std::string::npos;
         at = html.find("<script", at + 1)) {
        const std::string tag = html.substr(at, html.find('>', at) - at);
        EXPECT_NE(tag.find("src="), std::string::npos) << tag;
    }
    EXPECT_EQ(html.find("<style"), std::string::npos);
    EXPECT_EQ(html.find(" style="), std::string::npos);
    EXPECT_EQ(html.find(" onclick="), std::string::npos);
    EXPECT_EQ(html.find(" onload="), std::string::npos);
}

// ---------------------------------------------------------------- /metrics

// The machine's first address that is not loopback, or "" when it has none.
std::string non_loopback_address() {
    const std::string out = [] {
        FILE* p = ::popen("hostname -I 2>/dev/null", "r");
        if (!p) return std::string();
        char buffer[256] = {};
        const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, p);
        ::pclose(p);
        return std::string(buffer, n);
    }();
    std::istringstream words(out);
    std::string address;
    while (words >> address) {
        if (address.find('.') != std::string::npos && address.rfind("127.", 0) != 0) return address;
    }
    return "";
}

class MetricsAccess : public ServerTest {
  protected:
    void start_on_every_address() {
        config()["api_listener"]["address"] = "0.0.0.0";
        start_server();
    }
    // The raw answer to GET `target` from `host`.
    std::string get_from(const std::string& host, const std::string& target,
                         const std::string& token = "") {
        return raw_https(api_port(), certs_->server_ca(),
                         "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
                             (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
                             "\r\n",
                         host);
    }
    std::string metrics_from(const std::string& host, const std::string& token = "") {
        return get_from(host, "/metrics", token);
    }
};

TEST_F(MetricsAccess, LoopbackOnlyByDefault) {
    const std::string outside = non_loopback_address();
    if (outside.empty()) GTEST_SKIP() << "this machine has no non-loopback address";
    start_on_every_address();
    const std::string local = metrics_from("127.0.0.1");
    EXPECT_EQ(status_of(local), 200) << local.substr(0, 200);
    EXPECT_NE(local.find("huxiao_"), std::string::npos);
    const std::string remote = metrics_from(outside);
    EXPECT_EQ(status_of(remote), 403) << outside << ": " << remote.substr(0, 300);
    EXPECT_NE(remote.find("\"forbidden\""), std::string::npos);
    EXPECT_EQ(remote.find("huxiao_"), std::string::npos);
    // A token does not open it either in this mode.
    EXPECT_EQ(status_of(metrics_from(outside, make_token("admin", "root"))), 403);
    // Everything else still answers from outside.
    EXPECT_EQ(status_of(get_from(outside, "/healthz")), 200);
}

TEST_F(MetricsAccess, TokenModeWantsAValidTokenFromEveryone) {
    config()["api_listener"]["metrics"] = "token";
    start_server();
    const std::string anonymous = metrics_from("127.0.0.1");
    EXPECT_EQ(status_of(anonymous), 401) << anonymous.substr(0, 300);
    EXPECT_EQ(anonymous.find("huxiao_"), std::string::npos);
    EXPECT_EQ(status_of(metrics_from("127.0.0.1", "not-a-token")), 401);
    // Any role will do: a monitoring agent gets a token of its own.
    const std::string with_token = metrics_from("127.0.0.1", make_token("auditor", "prometheus"));
    EXPECT_EQ(status_of(with_token), 200) << with_token.substr(0, 300);
    EXPECT_NE(with_token.find("huxiao_"), std::string::npos);
}

TEST_F(MetricsAccess, PublicModeServesEveryoneWithoutAToken) {
    const std::string outside = non_loopback_address();
    if (outside.empty()) GTEST_SKIP() << "this machine has no non-loopback address";
    config()["api_listener"]["metrics"] = "public";
    start_on_every_address();
    const std::string remote = metrics_from(outside);
    EXPECT_EQ(status_of(remote), 200) << outside << ": " << remote.substr(0, 300);
    EXPECT_NE(remote.find("huxiao_"), std::string::npos);
}

}  // namespace
}  // namespace huxiao::test
