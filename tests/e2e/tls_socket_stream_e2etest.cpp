// TlsSocketStream (server/sessions/tls_socket_stream.hpp) on its own, on
// loopback with real certificates: the terminal listener's TLS context
// (make_server_tls, mutual TLS), a test server that runs the stream the way
// TerminalSession does (handshake under a deadline that closes the socket,
// lines read with async_read_until, writes from a second coroutine while a
// read waits), real TLS clients (TerminalClient, Asio's ssl::stream) and raw
// sockets that send garbage, stop mid-handshake, or send nothing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "server/sessions/tls.hpp"
#include "server/sessions/tls_socket_stream.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/terminal_client.hpp"

namespace huxiao::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using nlohmann::json;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kWait = std::chrono::seconds(20);  // only for a test that would hang

// What the server saw of one connection.
struct Outcome {
    boost::system::error_code handshake;
    std::optional<std::string> cn;
    bool resumed = false;
    std::string protocol;
    std::vector<std::string> lines;
    boost::system::error_code end;  // what ended the read loop (or the shutdown)
    bool shut_down = false;         // the server sent close_notify ("bye")
};

class TlsSocketStreamTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("huxiao-tls-stream");
        certs_ = std::make_unique<CertFactory>(dir_);
        t1_ = certs_->terminal("T-1");
        ctx_.emplace(
            make_server_tls(certs_->server_cert(), certs_->server_key(), certs_->terminal_ca()));
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        work_.reset();
        asio::post(io_, [this] { acceptor_.close(); });
        thread_.join();
        std::filesystem::remove_all(dir_);
    }

    // Accepts the next connection and serves it as TerminalSession would;
    // the future holds what the server saw once the connection is done.
    // `send_buffer`: a small SO_SNDBUF makes writes wait for the socket.
    std::future<Outcome> serve_next(std::chrono::milliseconds handshake_deadline = kWait,
                                    int send_buffer = 0) {
        auto promise = std::make_shared<std::promise<Outcome>>();
        auto future = promise->get_future();
        acceptor_.async_accept(asio::make_strand(io_), [this, promise, handshake_deadline,
                                                        send_buffer](auto ec, tcp::socket socket) {
            if (ec) {
                Outcome failed;
                failed.handshake = ec;
                promise->set_value(std::move(failed));
                return;
            }
            if (send_buffer) socket.set_option(asio::socket_base::send_buffer_size(send_buffer));
            auto stream = std::make_shared<TlsSocketStream>(std::move(socket), *ctx_);
            asio::co_spawn(stream->get_executor(), serve(stream, handshake_deadline),
                           [promise](std::exception_ptr e, Outcome outcome) {
                               if (e) {
                                   promise->set_exception(e);
                               } else {
                                   promise->set_value(std::move(outcome));
                               }
                           });
        });
        return future;
    }

    static asio::awaitable<Outcome> serve(std::shared_ptr<TlsSocketStream> stream,
                                          std::chrono::milliseconds handshake_deadline) {
        Outcome out;
        // The deadline closes the socket, as TerminalSession's watchdog does.
        asio::steady_timer deadline(stream->get_executor(), handshake_deadline);
        deadline.async_wait([stream](boost::system::error_code ec) {
            boost::system::error_code ignored;
            if (!ec) stream->next_layer().close(ignored);
        });
        std::tie(out.handshake) =
            co_await stream->async_handshake(asio::ssl::stream_base::server, use_tuple);
        deadline.cancel();
        if (out.handshake) co_return out;
        out.cn = peer_common_name(stream->native_handle());
        out.resumed = SSL_session_reused(stream->native_handle()) == 1;
        out.protocol = SSL_get_version(stream->native_handle());

        std::string buffer;
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(*stream, asio::dynamic_buffer(buffer),
                                                           '\n', use_tuple);
            if (ec) {
                out.end = ec;
                // Answer with our close_notify, as TerminalSession's writer
                // does however the connection ended (a session that ends
                // without one leaves OpenSSL's session cache).
                co_await stream->async_shutdown(use_tuple);
                co_return out;
            }
            std::string line = buffer.substr(0, n - 1);
            buffer.erase(0, n);
            out.lines.push_back(line);
            const json frame = json::parse(line);
            if (frame["type"] == "bye") {
                out.shut_down = true;
                std::tie(out.end) = co_await stream->async_shutdown(use_tuple);
                co_return out;
            }
            if (frame["type"] == "push") {
                // Written by another coroutine while this one waits to read,
                // as TerminalSession's writer and reader do.
                asio::co_spawn(stream->get_executor(),
                               push(stream, frame["count"].get<int>(), frame["size"].get<int>()),
                               asio::detached);
                continue;
            }
            json reply = frame;
            reply["bytes"] = line.size();
            if (frame.contains("pad")) reply.erase("pad");
            auto [wec, written] =
                co_await asio::async_write(*stream, asio::buffer(reply.dump() + "\n"), use_tuple);
            if (wec) {
                out.end = wec;
                co_return out;
            }
        }
    }

    static asio::awaitable<void> push(std::shared_ptr<TlsSocketStream> stream, int count,
                                      int size) {
        for (int i = 0; i < count; ++i) {
            const std::string frame =
                json{{"type", "pushed"}, {"seq", i}, {"pad", std::string(size, 'x')}}.dump() + "\n";
            auto [ec, n] = co_await asio::async_write(*stream, asio::buffer(frame), use_tuple);
            if (ec) co_return;
        }
    }

    std::unique_ptr<TerminalClient> client(const CertFactory::Pair* cert) {
        return std::make_unique<TerminalClient>(port_, cert, certs_->server_ca());
    }

    // A plain TCP connection to the server.
    int raw_connection() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
        return fd;
    }

    static Outcome get(std::future<Outcome>& f) {
        if (f.wait_for(kWait) != std::future_status::ready) {
            ADD_FAILURE() << "the server did not finish the connection";
            return {};
        }
        return f.get();
    }

    std::filesystem::path dir_;
    std::unique_ptr<CertFactory> certs_;
    CertFactory::Pair t1_;
    std::optional<asio::ssl::context> ctx_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
        io_.get_executor()};
    tcp::acceptor acceptor_{io_};
    unsigned short port_ = 0;
    std::thread thread_;
};

TEST_F(TlsSocketStreamTest, MutualTlsHandshakeThenLinesBothWays) {
    auto served = serve_next();
    auto t = client(&t1_);
    std::string error;
    ASSERT_TRUE(t->connect(&error)) << error;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(t->send({{"type", "echo"}, {"seq", i}}));
        auto reply = t->read_frame();
        ASSERT_TRUE(reply);
        EXPECT_EQ((*reply)["seq"], i);
    }
    t.reset();  // a TCP close without close_notify
    const Outcome out = get(served);
    EXPECT_FALSE(out.handshake) << out.handshake.message();
    EXPECT_EQ(out.cn, "T-1");
    EXPECT_FALSE(out.resumed);
    EXPECT_EQ(out.lines.size(), 3u);
    // As ssl::stream reports it: the peer may have cut the stream short.
    EXPECT_EQ(out.end, asio::ssl::error::stream_truncated) << out.end.message();
}

TEST_F(TlsSocketStreamTest, LargeFramesCrossManyRecordsAndAFullSocketBuffer) {
    // 4 KiB of send buffer: each write of a 300 KB line waits for the socket
    // many times, while the reader waits too.
    auto served = serve_next(kWait, 4096);
    auto t = client(&t1_);
    ASSERT_TRUE(t->connect());
    const std::string pad(300'000, 'p');
    ASSERT_TRUE(t->send({{"type", "echo"}, {"seq", 1}, {"pad", pad}}));
    auto reply = t->read_frame();
    ASSERT_TRUE(reply);
    EXPECT_GT((*reply)["bytes"].get<std::size_t>(), pad.size());

    ASSERT_TRUE(t->send({{"type", "push"}, {"count", 20}, {"size", 100'000}}));
    for (int i = 0; i < 20; ++i) {
        auto pushed = t->read_frame();
        ASSERT_TRUE(pushed) << i;
        EXPECT_EQ((*pushed)["seq"], i);
        EXPECT_EQ((*pushed)["pad"].get<std::string>().size(), 100'000u);
    }
    // The reader kept waiting through the pushes and still reads.
    ASSERT_TRUE(t->send({{"type", "echo"}, {"seq", 2}}));
    reply = t->read_frame();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["seq"], 2);
    ASSERT_TRUE(t->send({{"type", "bye"}}));
    EXPECT_TRUE(t->wait_closed());
    EXPECT_TRUE(t->closed_cleanly());
    t.reset();
    const Outcome out = get(served);
    EXPECT_TRUE(out.shut_down);
    EXPECT_EQ(out.lines.size(), 4u);
}

TEST_F(TlsSocketStreamTest, ServerShutdownSendsCloseNotify) {
    auto served = serve_next();
    auto t = client(&t1_);
    ASSERT_TRUE(t->connect());
    ASSERT_TRUE(t->send({{"type", "bye"}}));
    EXPECT_TRUE(t->wait_closed());
    EXPECT_TRUE(t->closed_cleanly());
    t.reset();
    const Outcome out = get(served);
    EXPECT_TRUE(out.shut_down);
}

TEST_F(TlsSocketStreamTest, PeersCloseNotifyReadsAsEof) {
    auto served = serve_next();
    asio::io_context io;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.load_verify_file(certs_->server_ca().string());
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.use_certificate_chain_file(t1_.cert.string());
    tls.use_private_key_file(t1_.key.string(), asio::ssl::context::pem);
    asio::ssl::stream<tcp::socket> peer(io, tls);
    peer.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    peer.handshake(asio::ssl::stream_base::client);
    asio::write(peer, asio::buffer(std::string(R"({"type":"echo"})") + "\n"));
    std::string buffer;
    asio::read_until(peer, asio::dynamic_buffer(buffer), '\n');
    boost::system::error_code ec;
    peer.shutdown(ec);  // sends close_notify, waits for the server's
    EXPECT_FALSE(ec) << ec.message();
    const Outcome out = get(served);
    EXPECT_EQ(out.end, asio::error::eof) << out.end.message();
}

TEST_F(TlsSocketStreamTest, ResumesTls13WithATicketAndKeepsTheIdentity) {
    std::string session;
    {
        auto served = serve_next();
        auto t = client(&t1_);
        t->set_tls_versions(TLS1_3_VERSION, 0);
        ASSERT_TRUE(t->connect());
        // The tickets arrive after the handshake: a round trip reads them.
        ASSERT_TRUE(t->send({{"type", "echo"}}));
        ASSERT_TRUE(t->read_frame());
        session = t->session();
        t.reset();
        EXPECT_FALSE(get(served).resumed);
    }
    ASSERT_FALSE(session.empty());
    auto served = serve_next();
    auto t = client(&t1_);
    t->set_tls_versions(TLS1_3_VERSION, 0);
    t->resume(session);
    ASSERT_TRUE(t->connect());
    EXPECT_TRUE(t->resumed());
    ASSERT_TRUE(t->send({{"type", "echo"}}));
    ASSERT_TRUE(t->read_frame());
    t.reset();
    const Outcome out = get(served);
    EXPECT_TRUE(out.resumed);
    EXPECT_EQ(out.protocol, "TLSv1.3");
    EXPECT_EQ(out.cn, "T-1");
}

TEST_F(TlsSocketStreamTest, ResumesTls12FromTheSessionCache) {
    std::string session;
    {
        auto served = serve_next();
        auto t = client(&t1_);
        t->set_tls_versions(TLS1_2_VERSION, TLS1_2_VERSION);
        t->disable_session_tickets();
        ASSERT_TRUE(t->connect());
        session = t->session();
        t.reset();
        get(served);
    }
    ASSERT_FALSE(session.empty());
    auto served = serve_next();
    auto t = client(&t1_);
    t->set_tls_versions(TLS1_2_VERSION, TLS1_2_VERSION);
    t->disable_session_tickets();
    t->resume(session);
    ASSERT_TRUE(t->connect());
    EXPECT_TRUE(t->resumed());
    t.reset();
    const Outcome out = get(served);
    EXPECT_TRUE(out.resumed);
    EXPECT_EQ(out.protocol, "TLSv1.2");
    EXPECT_EQ(out.cn, "T-1");
}

TEST_F(TlsSocketStreamTest, CertificatesTheListenerMustRefuseAreRefused) {
    const auto foreign = certs_->foreign_terminal("T-9");
    const auto expired = certs_->expired_terminal("T-8");
    const std::vector<const CertFactory::Pair*> refused = {&foreign, &expired, nullptr};
    for (const CertFactory::Pair* cert : refused) {
        auto served = serve_next();
        auto t = client(cert);
        std::string error;
        EXPECT_FALSE(t->connect(&error) && t->send({{"type", "echo"}}) && t->read_frame());
        t.reset();
        const Outcome out = get(served);
        // A TLS failure with OpenSSL's reason, as ssl::stream reports it.
        EXPECT_EQ(out.handshake.category(), asio::error::get_ssl_category())
            << out.handshake.message();
        EXPECT_FALSE(out.cn);
    }
}

TEST_F(TlsSocketStreamTest, GarbageInsteadOfAClientHelloFailsTheHandshake) {
    auto served = serve_next();
    const int fd = raw_connection();
    const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(garbage.size()));
    const Outcome out = get(served);
    ::close(fd);
    EXPECT_EQ(out.handshake.category(), asio::error::get_ssl_category()) << out.handshake.message();
}

TEST_F(TlsSocketStreamTest, APeerClosingMidHandshakeEndsItAsTruncated) {
    auto served = serve_next();
    const int fd = raw_connection();
    // A handshake record header announcing 512 bytes, then 4 of them.
    const unsigned char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    ASSERT_EQ(::send(fd, partial, sizeof partial, MSG_NOSIGNAL),
              static_cast<ssize_t>(sizeof partial));
    ::close(fd);
    const Outcome out = get(served);
    EXPECT_EQ(out.handshake, asio::ssl::error::stream_truncated) << out.handshake.message();
}

TEST_F(TlsSocketStreamTest, AStalledHandshakeEndsWhenTheDeadlineClosesTheSocket) {
    auto served = serve_next(std::chrono::milliseconds(300));
    const int fd = raw_connection();  // sends nothing
    const Outcome out = get(served);
    EXPECT_EQ(out.handshake, asio::error::operation_aborted) << out.handshake.message();
    // The server closed the connection: the peer reads EOF.
    char byte;
    EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);
    ::close(fd);
}

}  // namespace
}  // namespace huxiao::test
