#include "server/api/api_routes.hpp"

#include "server/api/admin_api.hpp"
#include "server/api/guard_posts_api.hpp"
#include "server/api/hazards_api.hpp"
#include "server/api/incidents_api.hpp"
#include "server/api/inspections_api.hpp"
#include "server/api/reports_api.hpp"
#include "server/api/school_safety_api.hpp"
#include "server/api/terminals_api.hpp"

namespace huxiao::api {

void add_api_routes(ApiRouter& router, db::ReadDb& db, TokenAuthenticator& auth,
                    const Config& config, std::function<void()> registry_changed,
                    std::function<boost::asio::awaitable<ReloadOutcome>(std::string why)> reload) {
    add_incident_routes(router, db);
    add_report_routes(router, db, config);
    add_terminal_routes(router, db);
    add_guard_post_routes(router, db, config);
    add_inspection_routes(router, db, config);
    add_hazard_routes(router, db);
    add_school_safety_routes(router, db, config);
    add_admin_routes(router, db, auth, std::move(registry_changed));
    add_reload_route(router, std::move(reload));
}

}  // namespace huxiao::api
