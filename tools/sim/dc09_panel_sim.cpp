#include "tools/sim/dc09_panel_sim.hpp"

#include "common/protocol/dc09.hpp"
#include "common/protocol/dc09_cipher.hpp"

namespace huxiao::sim {

namespace {

// The Contact ID and SIA codes for huxiao's kinds (contract §9 read backwards).
struct Codes {
    const char* cid;
    const char* sia;
};
Codes codes_for(const std::string& kind) {
    if (kind == "medical") return {"100", "MA"};
    if (kind == "fire") return {"110", "FA"};
    if (kind == "assault") return {"122", "PA"};
    if (kind == "intrusion") return {"130", "BA"};
    return {"140", "UA"};  // general alarm: "other"
}

}  // namespace

Dc09PanelSim::Dc09PanelSim(SimContext& ctx, const Terminal& terminal,
                           asio::ip::udp::endpoint server, int link_test_s)
    : ctx_(ctx),
      id_(terminal.id),
      identity_(*terminal.dc09),
      server_(server),
      socket_(ctx.io),
      link_timer_(ctx.io),
      retry_timer_(ctx.io),
      link_test_s_(link_test_s) {
    if (!identity_.key_hex.empty()) {
        auto key = dc09::from_hex(identity_.key_hex);
        if (!key || !dc09::is_valid_key_length(key->size())) {
            throw std::runtime_error(id_ + ": dc09.key_hex is not an AES key");
        }
        key_ = *key;
    }
    sequence_ = static_cast<int>(ctx.uniform(1, 9000));
}

void Dc09PanelSim::start() {
    socket_.open(server_.protocol());
    receive();
    link_test();
}

void Dc09PanelSim::stop() {
    stopped_ = true;
    link_timer_.cancel();
    retry_timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    online_ = false;
}

std::string Dc09PanelSim::next_sequence() {
    sequence_ = sequence_ >= 9999 ? 1 : sequence_ + 1;
    char text[16];
    std::snprintf(text, sizeof text, "%04d", sequence_);
    return text;
}

std::string Dc09PanelSim::frame(const std::string& id, const std::string& sequence,
                                const std::string& data) {
    const dc09::PadSource pad = [this](std::size_t n) {
        std::string p;
        for (std::size_t i = 0; i < n; ++i) {
            p.push_back(static_cast<char>('a' + static_cast<int>(ctx_.uniform(0, 25.99))));
        }
        return p;
    };
    const std::string line = identity_.line.empty() ? "L0" : identity_.line;
    return *dc09::make_frame({id, sequence, identity_.receiver, line, identity_.account}, data, {},
                             wall_now_micros(), key_, pad);
}

void Dc09PanelSim::send(const std::string& text) {
    auto data = std::make_shared<std::string>(text);
    socket_.async_send_to(asio::buffer(*data), server_,
                          [data](boost::system::error_code, std::size_t) {});
}

void Dc09PanelSim::receive() {
    auto from = std::make_shared<asio::ip::udp::endpoint>();
    socket_.async_receive_from(asio::buffer(buffer_), *from,
                               [this, from](boost::system::error_code ec, std::size_t n) {
                                   if (stopped_ || ec == asio::error::operation_aborted) return;
                                   if (!ec) on_answer(std::string(buffer_, n));
                                   receive();
                               });
}

void Dc09PanelSim::on_answer(const std::string& answer) {
    auto parsed = dc09::parse_envelope(answer);
    auto* e = std::get_if<dc09::Envelope>(&parsed);
    if (e == nullptr) {
        say(id_ + " (DC-09): unreadable answer");
        return;
    }
    if (e->token == dc09::Token::ack) {
        if (e->sequence == last_link_sequence_) {
            unanswered_link_tests_ = 0;
            online_ = true;
        }
        if (pending_ && pending_->first == e->sequence) {
            ++ctx_.counters.alarms_acked;
            say(id_ + " (DC-09" + std::string(encrypted() ? ", AES" : ", plain") +
                "): " + pending_->second.kind + " alarm acknowledged (seq " + e->sequence + ")");
            pending_.reset();
            retry_timer_.cancel();
        }
        online_ = true;
    } else if (e->token == dc09::Token::nak && pending_) {
        // Our clock was off or the frame was damaged: send again, with a fresh timestamp.
        pending_->second.frame =
            frame(encrypted() ? "ADM-CID" : "SIA-DCS", pending_->first, pending_->second.data);
        send(pending_->second.frame);
    } else if (e->token == dc09::Token::duh) {
        say(id_ + " (DC-09): the receiver does not know account #" + identity_.account +
            " (DUH); is the registry imported?");
        online_ = false;
    }
}

void Dc09PanelSim::link_test() {
    if (stopped_) return;
    if (++unanswered_link_tests_ > 2) online_ = false;
    last_link_sequence_ = next_sequence();
    send(frame("NULL", last_link_sequence_, ""));
    link_timer_.expires_after(std::chrono::seconds(link_test_s_));
    link_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) link_test();
    });
}

void Dc09PanelSim::raise_alarm(const std::string& kind, bool drill, const std::string& note) {
    if (pending_) return;  // one at a time, like a panel's transmit queue
    const Codes codes = codes_for(kind);
    const std::string sequence = next_sequence();
    Pending p;
    p.kind = codes.cid == std::string("140") ? "other" : kind;
    const std::string zone =
        std::to_string(100 + static_cast<int>(ctx_.uniform(0, 899.99)));  // 3 digits
    p.data = encrypted() ? "#" + identity_.account + "|1" + codes.cid + " 01 " + zone
                         : "#" + identity_.account + "|Nri1/" + codes.sia + zone;
    p.frame = frame(encrypted() ? "ADM-CID" : "SIA-DCS", sequence, p.data);
    say(id_ + " (DC-09" + std::string(encrypted() ? ", AES" : ", plain") + "): " + p.kind +
        " alarm, " + p.data.substr(p.data.find('|') + 1) + " (" + note +
        (drill ? "; DC-09 has no drill flag" : "") + ")");
    pending_ = std::make_pair(sequence, std::move(p));
    send(pending_->second.frame);
    resend_pending();
}

void Dc09PanelSim::resend_pending() {
    retry_timer_.expires_after(std::chrono::seconds(5));
    retry_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !pending_ || stopped_) return;
        ++ctx_.counters.alarms_retried;
        // A panel repeats the same message; past the receiver's window it
        // would be NAKed, so the timestamp is renewed after 30 s.
        if (++pending_->second.attempts % 6 == 0) {
            pending_->second.frame =
                frame(encrypted() ? "ADM-CID" : "SIA-DCS", pending_->first, pending_->second.data);
        }
        send(pending_->second.frame);
        resend_pending();
    });
}

}  // namespace huxiao::sim
