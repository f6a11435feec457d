// Dc09TcpSession: one TCP connection from an alarm panel or a relaying
// receiver (SIA DC-09). Frames run from <LF> to <CR>; each goes to the
// Dc09Intake and its answer (ACK once durable, NAK, DUH) is written back in
// the order answers arrive. Closed after idle_timeout_s of silence, for a
// frame longer than max_frame_bytes, after 10 refused frames in a row (once
// their answers are written), or on stop().
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "common/util/token_bucket.hpp"
#include "server/app/dc09_intake.hpp"

namespace huxiao {

class Dc09TcpSession : public std::enable_shared_from_this<Dc09TcpSession> {
  public:
    Dc09TcpSession(boost::asio::ip::tcp::socket socket, const Config& config, Dc09Intake& intake,
                   std::shared_ptr<void> connection_slot);

    void start();
    void stop();  // thread-safe

  private:
    void read();
    void on_read(std::size_t n);
    void send(std::string frame);  // on the strand
    void write_next();
    void close();
    void arm_idle_timer();

    boost::asio::ip::tcp::socket socket_;
    const Config& config_;
    Dc09Intake& intake_;
    std::shared_ptr<void> connection_slot_;
    boost::asio::steady_timer idle_;
    std::string peer_;
    std::string buffer_;
    char chunk_[1024];
    std::deque<std::string> outbox_;
    bool writing_ = false;
    bool closed_ = false;
    int refused_in_a_row_ = 0;
    bool close_when_written_ = false;  // after too many refusals
    TokenBucket rate_;
};

}  // namespace huxiao
