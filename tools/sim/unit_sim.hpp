// One simulated patrol unit (contract §4, /ws/unit): a WebSocket over TLS
// with the unit's bearer token. It reports its position every two seconds,
// accepts most offers (declines some, so that escalation shows), drives to
// the school in a straight line, lets the server's geofence mark it arrived,
// stays on scene a while, clears and drives home. A unit with a guard post
// drives to its school before each window and holds position there
// (tools/sim/guard_duty.hpp), answering offers as any other unit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/model/registry.hpp"
#include "tools/sim/guard_duty.hpp"
#include "tools/sim/sim.hpp"

namespace huxiao::sim {

class UnitSim {
  public:
    // The incident the unit was offered or works on.
    struct Job {
        std::string incident;
        std::string kind;
        std::string school_id;
        GeoPoint school;
        long long eta_s = 0;
    };

    UnitSim(SimContext& ctx, const Unit& unit, std::string token, ssl::context& tls);

    const std::string& id() const { return id_; }
    bool online() const { return online_; }

    // Before start(): the unit's guard post (contract §7) at `school`, in
    // `zone` (the post's tz, from the tz database).
    void keep_post(const GuardPost& post, GeoPoint school, std::shared_ptr<const TimeZone> zone);

    // Before start(): an incident the server still counts this unit in (left
    // by an earlier run). The crew picks it up where the timeline left it:
    // on scene if it had arrived, else driving there from home.
    void resume(const Job& job, bool arrived);

    void start();  // connects (and reconnects with backoff), and starts driving
    void stop();

  private:
    using WebSocket = boost::beast::websocket::stream<ssl::stream<boost::beast::tcp_stream>>;

    // What the crew is doing. Movement goes on while the connection is down:
    // a car does not stop because its radio did.
    enum class Task {
        idle,      // at home (or wherever it was told to wait)
        offered,   // an offer is waiting for the crew's answer (at the next tick)
        to_scene,  // accepted, driving to the school
        on_scene,  // at the school until leave_at
        to_home,   // driving back home
        to_post,   // driving to its guard post
        at_post,   // holding position at the school gate until the window closes
    };

    struct Post {
        GuardPost post;
        GeoPoint school;
        std::shared_ptr<const TimeZone> zone;
    };

    struct Outcome {
        bool welcomed = false;
        bool network = false;  // refused or lost: the server is away, not just us
        std::string why;
    };

    asio::awaitable<void> run();
    asio::awaitable<Outcome> session();
    Outcome ended(bool welcomed, bool network, std::string why);

    void handle(const nlohmann::json& message);
    void on_offer(const nlohmann::json& message);
    void on_offer_withdrawn(const nlohmann::json& message);
    void on_incident_closed(const nlohmann::json& message);
    void on_error(const nlohmann::json& message);

    void tick_after(std::chrono::milliseconds delay);
    void tick();
    void answer_offer();
    bool drive_toward(GeoPoint target, double seconds);  // true when there
    void start_on_scene(Clock::time_point now);
    void go_home();
    bool on_job() const;  // offered, driving to or at an incident
    void guard_duty();    // plans the next window, leaves for the post, ends a window

    void send(const nlohmann::json& message);
    void write_next();
    void report_position();

    SimContext& ctx_;
    std::string id_;
    GeoPoint home_;
    std::string token_;
    ssl::context& tls_;
    std::shared_ptr<WebSocket> ws_;  // the current connection, if any
    bool online_ = false;
    bool ever_online_ = false;
    std::string last_problem_;  // the last problem logged: not logged again
    std::string refusal_;       // set when the server turned our token away
    boost::beast::flat_buffer read_buffer_;
    std::deque<std::string> outbox_;
    bool writing_ = false;
    asio::steady_timer backoff_timer_;
    ReconnectPolicy reconnect_;

    asio::steady_timer tick_timer_;
    Clock::time_point last_tick_{};
    GeoPoint position_;
    Task task_ = Task::idle;
    Job job_;
    Clock::time_point leave_at_{};  // when the crew leaves the scene

    std::optional<Post> post_;
    std::optional<DutyPlan> duty_;  // the current or next window and how the crew turns out
};

}  // namespace huxiao::sim
