#include "server/app/dc09_intake.hpp"

#include <openssl/rand.h>

#include "common/protocol/dc09_cipher.hpp"
#include "server/app/dispatcher.hpp"
#include "server/app/registry_holder.hpp"
#include "server/base/clock.hpp"
#include "server/base/log.hpp"
#include "server/base/metrics.hpp"
#include "server/db/incident_log.hpp"

namespace huxiao {

namespace {

constexpr UnixMicros kRetransmissionWindow = 120 * kMicrosPerSecond;

// Random pad characters for encrypted responses (printable, none of | [ ]).
std::string random_pad(std::size_t count) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string bytes(count, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
        throw std::runtime_error("no randomness for a DC-09 pad");
    }
    for (char& c : bytes) c = kAlphabet[static_cast<unsigned char>(c) % (sizeof kAlphabet - 1)];
    return bytes;
}

std::string note_of(const dc09::Accepted& a) {
    std::string note = "DC-09 " + std::string(dc09::to_string(a.message.envelope.token));
    if (a.decisive) note += " " + dc09::describe(*a.decisive);
    if (a.message.latitude && a.message.longitude) {
        char where[64];
        std::snprintf(where, sizeof where, " at %.6f,%.6f", *a.message.latitude,
                      *a.message.longitude);
        note += where;
    }
    for (const auto& f : a.message.extended) {
        if (f.type == 'I' && note.size() + f.value.size() < 480) note += " \"" + f.value + "\"";
    }
    // Contract §3: at most 500 characters; keep it printable ASCII (DC-09
    // text is ASCII; a stray byte above 0x7F is not valid UTF-8 on its own
    // and PostgreSQL would refuse the whole alarm record for it).
    for (char& c : note) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) c = ' ';
        if (byte > 0x7F) c = '?';
    }
    return note.substr(0, 500);
}

}  // namespace

Dc09Intake::Dc09Intake(const Config& config, Dispatcher& dispatcher, RegistryHolder& registry,
                       db::IncidentLog& log, Metrics& metrics, const Clock& clock)
    : config_(config),
      dispatcher_(dispatcher),
      registry_(registry),
      log_(log),
      metrics_(metrics),
      clock_(clock),
      offline_after_us_(static_cast<UnixMicros>(config.dc09_listener.offline_after_s) *
                        kMicrosPerSecond),
      // At most 20,000 messages (a few MB; ~25 MB if all were as long as
      // max_frame_bytes allows). When more arrive within the window the
      // oldest are forgotten: a restamped retransmission of one of those
      // joins its incident as a repeat alarm instead.
      retransmissions_(kRetransmissionWindow, 20'000) {
    const auto& c = config.dc09_listener;
    settings_.allow_plain = c.allow_plain;
    settings_.max_future_s = c.max_future_s;
    settings_.max_past_s = c.max_past_s;
    settings_.codes.contact_id = c.kinds_cid;
    settings_.codes.sia = c.kinds_sia;
}

std::shared_ptr<const Dc09Intake::Directory> Dc09Intake::directory() {
    RegistrySnapshot snapshot = registry_.get();
    std::lock_guard lock(mutex_);
    if (directory_ && directory_->snapshot == snapshot) return directory_;
    auto next = std::make_shared<Directory>();
    for (const auto& t : snapshot->registry().terminals) {
        if (!t.enabled || !t.dc09) continue;
        auto key = dc09::from_hex(t.dc09->key_hex);
        next->accounts.add({t.id, t.dc09->account, t.dc09->receiver, t.dc09->line,
                            key ? std::move(*key) : std::string()});
    }
    next->snapshot = std::move(snapshot);
    directory_ = next;
    return next;
}

void Dc09Intake::dropped(const std::string& why) { metrics_.dc09_frames.add(why); }

bool Dc09Intake::handle(std::string_view frame, const std::string& peer, Reply reply) {
    const UnixMicros now = clock_.now();
    const auto dir = directory();
    dc09::Verdict verdict = dc09::receive(frame, now, dir->accounts, settings_, random_pad);
    if (auto* refused = std::get_if<dc09::Refused>(&verdict)) {
        log_info("dc09", peer + ": " + std::string(dc09::to_string(refused->reason)) + " (" +
                             refused->message + ")");
        metrics_.dc09_frames.add(std::string(dc09::to_string(refused->reason)));
        reply(std::move(refused->response));
        return false;
    }
    metrics_.dc09_frames.add("accepted");
    auto& accepted = std::get<dc09::Accepted>(verdict);
    {
        std::lock_guard lock(mutex_);
        accepted.event_id = retransmissions_.event_id(accepted, now);
    }
    const Terminal* terminal = dir->snapshot->terminal(accepted.terminal);
    if (terminal == nullptr) {  // cannot happen: the directory is built from this snapshot
        reply(dc09::make_duh(&accepted.message.envelope));
        return false;
    }
    // A sign of life: online now, offline after offline_after_s of silence
    // (contract §9: every message is the panel's heartbeat).
    dispatcher_.terminal_heard_from(accepted.terminal, now, offline_after_us_);

    switch (accepted.classification.meaning) {
        case dc09::Meaning::alarm:
            raise_alarm(terminal->school, accepted, std::move(reply), now);
            return true;
        case dc09::Meaning::cancel:
            cancel_alarm(terminal->school, accepted, std::move(reply), now);
            return true;
        case dc09::Meaning::restore:
        case dc09::Meaning::event:
            record_event(accepted, now);
            break;
        case dc09::Meaning::test:  // link tests: supervision only (above)
            break;
    }
    reply(std::move(accepted.ack));
    return true;
}

void Dc09Intake::raise_alarm(const std::string& school, dc09::Accepted& accepted, Reply reply,
                             UnixMicros now) {
    terminal::Alarm alarm;
    alarm.id = accepted.event_id;
    alarm.kind = accepted.classification.kind;
    alarm.at = accepted.message.timestamp;
    alarm.note = note_of(accepted);
    log_info("dc09", accepted.terminal + " (#" + accepted.message.envelope.account + " seq " +
                         accepted.message.envelope.sequence + "): " + alarm.kind + " alarm " +
                         alarm.id);
    // ACK only once the alarm is durable; otherwise no answer at all, so
    // that the panel retransmits (the standard's NAK would say "your
    // message was bad", which it was not).
    dispatcher_.alarm(
        school, accepted.terminal, std::move(alarm), now,
        [this, reply = std::move(reply), ack = std::move(accepted.ack),
         terminal_id = accepted.terminal, id = accepted.event_id](const IntakeReply& r) {
            if (r.status != IntakeReply::Status::durable) {
                metrics_.dc09_frames.add("not_durable");
                log_warn("dc09", terminal_id + ": alarm " + id + " not durable (" + r.message +
                                     "); no ACK, the panel will retry");
                return;
            }
            reply(ack);
        });
}

// Contract §9: a cancel request for the account's latest open alarm. The
// alarm intake finds it (empty `alarm`) on the dispatcher's strand.
void Dc09Intake::cancel_alarm(const std::string& school, dc09::Accepted& accepted, Reply reply,
                              UnixMicros now) {
    terminal::Cancel cancel;
    cancel.id = accepted.event_id;
    cancel.reason = note_of(accepted);
    dispatcher_.cancel(school, accepted.terminal, std::move(cancel), now,
                       [this, reply = std::move(reply), ack = std::move(accepted.ack),
                        terminal_id = accepted.terminal](const IntakeReply& r) {
                           if (r.status == IntakeReply::Status::unavailable) {
                               metrics_.dc09_frames.add("not_durable");
                               log_warn("dc09", terminal_id + ": cancel not durable (" + r.message +
                                                    "); no ACK, the panel will retry");
                               return;
                           }
                           // With no open alarm to cancel it was understood and changes
                           // nothing: ACK all the same, or the panel would retry forever.
                           if (r.status == IntakeReply::Status::unknown_alarm) {
                               log_info("dc09",
                                        terminal_id + ": cancel with no open alarm to cancel");
                           }
                           reply(ack);
                       });
}

// Restores and other events are recorded, not dispatched (contract §9). The
// write is queued and retried like supervision events; the ACK does not wait
// for it (only alarms and cancels carry the durability promise).
void Dc09Intake::record_event(const dc09::Accepted& accepted, UnixMicros now) {
    const auto meaning = std::string(dc09::to_string(accepted.classification.meaning));
    const std::string code = accepted.decisive ? dc09::describe(*accepted.decisive) : "";
    log_info("dc09", accepted.terminal + ": " + meaning + " " + code);
    log_.execute(accepted.terminal,
                 {"dc09_event",
                  {accepted.terminal, accepted.event_id, meaning, code, format_iso_micros(now)}});
}

}  // namespace huxiao
