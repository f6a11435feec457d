// BruteForceRouter: the same ranking rule as NearestUnitRouter by scanning
// every unit and measuring each with haversine. Obviously correct, so it is the
// reference the tests compare the indexed router against, and the baseline of
// bench/router_bench.cpp. Fine for a few hundred units; not used in production.
#pragma once

#include "common/geo/unit_router.hpp"
#include "common/geo/unit_table.hpp"

namespace huxiao::geo {

class BruteForceRouter final : public UnitRouter {
  public:
    explicit BruteForceRouter(RouterOptions options = {}) : table_(std::move(options)) {}

    void set_position(std::string_view unit, GeoPoint where, TimePoint reported_at) override;
    void set_eligible(std::string_view unit, bool eligible) override;
    void remove(std::string_view unit) override;
    void set_guard_posts(std::vector<GuardPost> posts) override;
    std::vector<RankedUnit> rank(const RouteRequest& request) const override;
    std::optional<RankedUnit> estimate(std::string_view unit, GeoPoint to) const override;

  private:
    UnitTable table_;
};

}  // namespace huxiao::geo
