#include "server/api/terminals_api.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/api/district_scope.hpp"
#include "server/api/json_values.hpp"
#include "server/api/params.hpp"
#include "server/base/clock.hpp"
#include "server/db/terminal_queries.hpp"

namespace huxiao::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

asio::awaitable<ApiRouter::Response> list(db::ReadDb& db, const ApiRouter::Call& call) {
    const auto& q = call.query;
    only(q, {"status", "from", "to", "school", "district"});
    const auto status = one_of(q, "status", {"online", "offline"});
    const UnixMicros now = system_now();
    const UnixMicros to = time(q, "to").value_or(now);
    const UnixMicros from = time(q, "from").value_or(to - 30LL * 86400 * kMicrosPerSecond);
    if (from >= to) throw BadParameter{"to", "must be after from"};
    db::TerminalFilter filter{
        from,        to, text(q, "school"), text(q, "district"), visible_districts_json(call.who),
        std::nullopt};
    if (status) filter.online = *status == "online";
    const auto found = co_await db::list_terminals(db, filter);
    if (found.failure) co_return ApiRouter::database_error(call, *found.failure);
    json items = json::array();
    for (const db::TerminalRow& t : found.value) {
        items.push_back({{"id", t.id},
                         {"school", t.school},
                         {"school_name", t.school_name},
                         {"district", t.district},
                         {"enabled", t.enabled},
                         {"online", t.online},
                         {"last_seen", or_null(t.last_seen)},
                         {"availability_pct", or_null(t.availability_pct)},
                         {"registered_at", t.registered_at},
                         {"counted_from", or_null(t.counted_from)}});
    }
    co_return ApiRouter::json(
        http::status::ok,
        {{"from", format_iso_millis(from)}, {"to", format_iso_millis(to)}, {"items", items}},
        call.req.version(), call.req.keep_alive());
}

}  // namespace

void add_terminal_routes(ApiRouter& router, db::ReadDb& db) {
    router.add("GET", "/api/v1/terminals",
               {"dispatcher", "auditor", "education", "admin", "inspector"},
               [&db](const ApiRouter::Call& call) { return list(db, call); });
}

}  // namespace huxiao::api
