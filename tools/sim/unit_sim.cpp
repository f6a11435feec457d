#include "tools/sim/unit_sim.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cmath>
#include <cstdio>
#include <exception>

#include "common/geo/geo.hpp"
#include "common/util/time.hpp"

namespace huxiao::sim {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using nlohmann::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kConnectTimeout = std::chrono::seconds(10);  // connect, TLS, WebSocket upgrade
constexpr auto kIdleTimeout = std::chrono::seconds(30);     // Beast pings at half of it
constexpr auto kReportEvery = std::chrono::seconds(2);
constexpr double kOnSceneMinS = 10;
constexpr double kOnSceneMaxS = 30;
constexpr double kAtHomeM = 1;  // closer than this to home counts as home
// A crew on time is at the gate this long before its window opens.
constexpr auto kPostMargin = std::chrono::minutes(5);

void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
}

std::string km_text(double metres) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f km", metres / 1000.0);
    return text;
}

}  // namespace

UnitSim::UnitSim(SimContext& ctx, const Unit& unit, std::string token, ssl::context& tls)
    : ctx_(ctx),
      id_(unit.id),
      home_(unit.home),
      token_(std::move(token)),
      tls_(tls),
      backoff_timer_(ctx.io),
      reconnect_(ctx.servers.size(), {}),
      tick_timer_(ctx.io),
      position_(unit.home) {}

void UnitSim::keep_post(const GuardPost& post, GeoPoint school,
                        std::shared_ptr<const TimeZone> zone) {
    post_ = Post{post, school, std::move(zone)};
}

void UnitSim::resume(const Job& job, bool arrived) {
    job_ = job;
    if (arrived) {
        position_ = job.school;
        start_on_scene(Clock::now());
        say(id_ + " resumes " + job.incident + " (" + job.kind + " at " + job.school_id +
            "): on scene");
    } else {
        task_ = Task::to_scene;
        say(id_ + " resumes " + job.incident + " (" + job.kind + " at " + job.school_id +
            "): en route, " + km_text(geo::haversine_m(position_, job.school)) + " to drive");
    }
}

void UnitSim::start() {
    asio::co_spawn(ctx_.io, run(), rethrow);
    last_tick_ = Clock::now();
    tick_after(kReportEvery);
}

void UnitSim::stop() {
    backoff_timer_.cancel();
    tick_timer_.cancel();
    if (!ws_) return;
    if (online_) {
        // A WebSocket close handshake; the pending read then ends and
        // session() tidies up.
        auto ws = ws_;
        ws->async_close(websocket::close_code::going_away, [ws](beast::error_code) {});
    } else {
        beast::get_lowest_layer(*ws_).close();  // still connecting: just drop it
    }
}

// ---- connection ------------------------------------------------------------

asio::awaitable<void> UnitSim::run() {
    while (!ctx_.stopping) {
        const Outcome outcome = co_await session();
        if (ctx_.stopping) break;
        if (outcome.welcomed) {
            reconnect_.connected();
            last_problem_.clear();
        }
        report_problem(ctx_, id_, outcome.network, outcome.why, last_problem_);
        backoff_timer_.expires_after(reconnect_wait(ctx_, reconnect_));
        co_await backoff_timer_.async_wait(use_tuple);
    }
}

asio::awaitable<UnitSim::Outcome> UnitSim::session() {
    auto ws = std::make_shared<WebSocket>(ctx_.io, tls_);
    ws_ = ws;
    read_buffer_.clear();
    auto& socket = beast::get_lowest_layer(*ws);

    socket.expires_after(kConnectTimeout);
    const ServerAddress& server = ctx_.servers[reconnect_.address()];
    auto [connect_error] = co_await socket.async_connect(server.api, use_tuple);
    if (connect_error) co_return ended(false, true, "connect: " + connect_error.message());
    ws->next_layer().set_verify_callback(ssl::host_name_verification(server.host));
    auto [tls_error] =
        co_await ws->next_layer().async_handshake(ssl::stream_base::client, use_tuple);
    if (tls_error) co_return ended(false, false, "TLS handshake: " + tls_error.message());
    socket.expires_never();

    // From here Beast keeps time: the upgrade, and pings when the line is idle.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kConnectTimeout;
    timeouts.idle_timeout = kIdleTimeout;
    timeouts.keep_alive_pings = true;
    ws->set_option(timeouts);
    const std::string authorization = "Bearer " + token_;
    ws->set_option(
        websocket::stream_base::decorator([authorization](websocket::request_type& request) {
            request.set(beast::http::field::authorization, authorization);
            request.set(beast::http::field::user_agent, "huxiao-sim");
        }));
    auto [upgrade_error] = co_await ws->async_handshake(server.host, "/ws/unit", use_tuple);
    if (upgrade_error)
        co_return ended(false, false, "WebSocket upgrade of /ws/unit: " + upgrade_error.message());
    ws->text(true);

    online_ = true;
    if (ever_online_) ++ctx_.counters.reconnects;
    ever_online_ = true;
    refusal_.clear();
    report_position();
    send({{"type", "availability"}, {"status", "available"}});
    // On the way to a school after a reconnect or a resume: say so again (the
    // server ignores it when it knew already).
    if (task_ == Task::to_scene) send({{"type", "en_route"}, {"incident", job_.incident}});

    std::string why;
    for (;;) {
        auto [read_error, n] = co_await ws->async_read(read_buffer_, use_tuple);
        if (read_error == websocket::error::closed) {
            const auto& reason = ws->reason().reason;
            why = "closed by the server";
            if (!reason.empty()) why += ": " + std::string(reason.data(), reason.size());
            break;
        }
        if (read_error) {
            why = "connection lost: " + read_error.message();
            break;
        }
        const std::string text = beast::buffers_to_string(read_buffer_.data());
        read_buffer_.consume(n);
        const json message = json::parse(text, nullptr, false);
        if (!message.is_object()) {
            say(id_ + " ignores a message that is not a JSON object: " + text);
            continue;
        }
        handle(message);
    }
    // Turned away after the upgrade (a token the server does not know).
    if (!refusal_.empty()) co_return ended(false, false, refusal_);
    co_return ended(true, true, why);
}

UnitSim::Outcome UnitSim::ended(bool welcomed, bool network, std::string why) {
    if (ws_) {
        beast::get_lowest_layer(*ws_).close();
        ws_.reset();
    }
    online_ = false;
    outbox_.clear();
    writing_ = false;
    return {welcomed, network, std::move(why)};
}

// Messages are written one at a time, in order. Nothing is sent while the
// connection is down: position reports simply resume, and the crew waits to
// be online before answering an offer or clearing.
void UnitSim::send(const json& message) {
    if (!online_) return;
    outbox_.push_back(message.dump());
    if (!writing_) write_next();
}

void UnitSim::write_next() {
    if (outbox_.empty()) {
        writing_ = false;
        return;
    }
    writing_ = true;
    auto text = std::make_shared<std::string>(std::move(outbox_.front()));
    outbox_.pop_front();
    auto ws = ws_;
    ws->async_write(asio::buffer(*text), [this, ws, text](beast::error_code ec, std::size_t) {
        if (ws != ws_) return;                                // that connection is gone
        if (ec) return beast::get_lowest_layer(*ws).close();  // the read fails next and tidies up
        write_next();
    });
}

void UnitSim::report_position() {
    send({{"type", "position"},
          {"lat", position_.lat},
          {"lon", position_.lon},
          {"at", format_iso_millis(wall_now_micros())}});
}

// ---- driving -------------------------------------------------------------------

void UnitSim::tick_after(std::chrono::milliseconds delay) {
    tick_timer_.expires_after(delay);
    tick_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || ctx_.stopping) return;
        tick();
        tick_after(kReportEvery);
    });
}

// Every two seconds: move, report the position, then decide what is next.
void UnitSim::tick() {
    const auto now = Clock::now();
    const double elapsed_s = std::chrono::duration<double>(now - last_tick_).count();
    last_tick_ = now;

    if (task_ == Task::to_scene || task_ == Task::on_scene) {
        drive_toward(job_.school, elapsed_s);  // on scene: the last metres to the gate
    } else if (task_ == Task::to_home && drive_toward(home_, elapsed_s)) {
        say(id_ + " back at base");
        task_ = Task::idle;
    } else if (task_ == Task::to_post && drive_toward(post_->school, elapsed_s)) {
        say(id_ + " on guard post at " + post_->post.school + " (" + duty_->window.text + ")");
        task_ = Task::at_post;
    }
    if (task_ == Task::to_scene &&
        geo::haversine_m(position_, job_.school) <= ctx_.arrival_radius_m) {
        // This tick's report is within the arrival radius: the server's
        // geofence marks the unit arrived (we do not send `arrived` ourselves).
        say(id_ + " arrived at " + job_.school_id + " (" + job_.incident + ")");
        ++ctx_.counters.arrivals;
        start_on_scene(now);
    }

    guard_duty();
    report_position();

    if (!online_) return;  // answers and clearing wait for the connection
    if (task_ == Task::offered) {
        answer_offer();
    } else if (task_ == Task::on_scene && now >= leave_at_) {
        send({{"type", "clear"}, {"incident", job_.incident}, {"outcome", "resolved"}});
        say(id_ + " clear " + job_.incident + " (resolved), driving back to base");
        ++ctx_.counters.clears;
        task_ = Task::to_home;
    }
}

void UnitSim::answer_offer() {
    const std::string offer = id_ + " offer " + job_.incident + " (" + job_.kind + " at " +
                              job_.school_id + ", eta " + std::to_string(job_.eta_s) + "s)";
    if (ctx_.chance(ctx_.decline_share)) {
        send({{"type", "decline"},
              {"incident", job_.incident},
              {"reason", "crew busy (simulated)"}});
        say(offer + " → decline");
        ++ctx_.counters.declined;
        go_home();
        return;
    }
    send({{"type", "accept"}, {"incident", job_.incident}});
    send({{"type", "en_route"}, {"incident", job_.incident}});
    say(offer + " → accept, en route, " + km_text(geo::haversine_m(position_, job_.school)) +
        " to drive");
    ++ctx_.counters.accepted;
    task_ = Task::to_scene;
}

// Moves up to `seconds` of driving along the straight line to `target`
// (interpolating lat/lon is fine over a city). True when there.
bool UnitSim::drive_toward(GeoPoint target, double seconds) {
    const double distance_m = geo::haversine_m(position_, target);
    const double step_m = ctx_.speed_kmh / 3.6 * seconds;
    if (step_m >= distance_m) {
        position_ = target;
        return true;
    }
    const double share = step_m / distance_m;
    position_.lat += (target.lat - position_.lat) * share;
    position_.lon += (target.lon - position_.lon) * share;
    return false;
}

void UnitSim::start_on_scene(Clock::time_point now) {
    task_ = Task::on_scene;
    const double stay_s = ctx_.uniform(kOnSceneMinS, kOnSceneMaxS);
    leave_at_ = now + std::chrono::milliseconds(static_cast<long long>(stay_s * 1000));
}

bool UnitSim::on_job() const {
    return task_ == Task::offered || task_ == Task::to_scene || task_ == Task::on_scene;
}

void UnitSim::go_home() {
    task_ = geo::haversine_m(position_, home_) < kAtHomeM ? Task::idle : Task::to_home;
}

// ---- guard post ------------------------------------------------------------------

// Every tick: when the window in hand is over, the crew leaves the gate and
// the next window is planned (on time, late or missed). A free crew (at base
// or on the way back from an incident) leaves for the gate at its departure
// time; an incident always comes first, and after it the crew returns to the
// gate if the window is still open.
void UnitSim::guard_duty() {
    if (!post_) return;
    const TimePoint now = clock_now();
    if (!duty_ || duty_->window.end <= now) {
        if (task_ == Task::to_post || task_ == Task::at_post) {
            say(id_ + " guard post at " + post_->post.school + " over (" + duty_->window.text +
                "), driving back to base");
            go_home();
        }
        duty_.reset();
        const auto window = current_or_next_window(post_->post, *post_->zone, now);
        if (!window) return;
        duty_ = plan_duty(*window, DutyOdds{}, ctx_.uniform(0, 1), ctx_.uniform(0, 1));
        ++ctx_.counters.post_windows;
        const std::string which = "guard post at " + post_->post.school + " " + window->text +
                                  " (" + format_iso_millis(to_unix_micros(window->begin)) + ")";
        if (duty_->turnout == Turnout::missed) {
            ++ctx_.counters.post_missed;
            say(id_ + " will miss its " + which + ": crew called to a court hearing (simulated)");
        } else if (duty_->turnout == Turnout::late) {
            ++ctx_.counters.post_late;
            say(id_ + " will be " + std::to_string(duty_->late_by.count()) + " min late for its " +
                which + ": briefing ran long (simulated)");
        }
    }
    if (task_ != Task::idle && task_ != Task::to_home) return;  // busy, or on post already
    const double drive_s = geo::haversine_m(position_, post_->school) / (ctx_.speed_kmh / 3.6);
    const auto leave = departure(*duty_, std::chrono::seconds(std::lround(drive_s)), kPostMargin);
    if (!leave || now < *leave) return;
    say(id_ + " drives to its guard post at " + post_->post.school + " (" + duty_->window.text +
        ", " + km_text(geo::haversine_m(position_, post_->school)) + ")");
    task_ = Task::to_post;
}

// ---- what the server says ----------------------------------------------------

void UnitSim::handle(const json& message) {
    const std::string type = text_field(message, "type");
    if (type == "offer") {
        on_offer(message);
    } else if (type == "offer_withdrawn") {
        on_offer_withdrawn(message);
    } else if (type == "incident_closed") {
        on_incident_closed(message);
    } else if (type == "error") {
        on_error(message);
    } else if (type != "welcome") {  // welcome: a greeting some servers send first
        say(id_ + " ignores a message of type \"" + type + "\"");
    }
}

void UnitSim::on_offer(const json& message) {
    const std::string incident = text_field(message, "incident");
    const bool busy = on_job();
    if (busy && incident == job_.incident) return;  // the same offer again, after a reconnect
    ++ctx_.counters.offers;
    if (busy) {
        send({{"type", "decline"},
              {"incident", incident},
              {"reason", "busy with " + job_.incident}});
        say(id_ + " offer " + incident + " → decline (busy with " + job_.incident + ")");
        ++ctx_.counters.declined;
        return;
    }
    const json school = message.value("school", json::object());
    const auto lat = school.find("lat");
    const auto lon = school.find("lon");
    if (lat == school.end() || !lat->is_number() || lon == school.end() || !lon->is_number()) {
        send({{"type", "decline"}, {"incident", incident}, {"reason", "offer without a location"}});
        say(id_ + " offer " + incident + " → decline (the offer has no school lat/lon)");
        ++ctx_.counters.declined;
        return;
    }
    job_ = Job{incident, text_field(message, "kind"), text_field(school, "id"),
               GeoPoint{lat->get<double>(), lon->get<double>()}, number_field(message, "eta_s", 0)};
    // A crew takes a moment: the answer goes out at the next tick.
    task_ = Task::offered;
}

void UnitSim::on_offer_withdrawn(const json& message) {
    const std::string incident = text_field(message, "incident");
    if (incident != job_.incident || (task_ != Task::offered && task_ != Task::to_scene)) return;
    say(id_ + " offer " + incident + " withdrawn (" + text_field(message, "reason") + ")" +
        (task_ == Task::to_scene ? ", driving back to base" : ""));
    go_home();
}

void UnitSim::on_incident_closed(const json& message) {
    const std::string incident = text_field(message, "incident");
    // After our own clear the incident closes when the last unit clears: old news.
    if (incident != job_.incident || !on_job()) return;
    say(id_ + " incident " + incident + " closed, driving back to base");
    go_home();
}

void UnitSim::on_error(const json& message) {
    const std::string code = text_field(message, "code");
    const std::string ref = text_field(message, "ref");
    if (code == "unauthorized") {  // the server closes next; run() reports it
        refusal_ = "the server refused our token (unauthorized)";
        return;
    }
    say(id_ + " error " + code + ": " + text_field(message, "message") +
        (ref.empty() ? "" : " (" + ref + ")"));
    // The server no longer counts us in (e.g. the incident closed meanwhile).
    if (code == "not_assigned" && ref == job_.incident && on_job()) go_home();
}

}  // namespace huxiao::sim
