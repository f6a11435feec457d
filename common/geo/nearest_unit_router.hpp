// NearestUnitRouter: the production UnitRouter. Eligible units live in a
// Boost.Geometry R-tree over their positions on the unit sphere (3-D Cartesian),
// where straight-line distance orders points exactly as great-circle distance
// does, so the tree's incremental nearest-neighbour search walks units in ETA
// order without the distortions of a lat/lon box. Each unit found is measured
// again with haversine and the walk continues until the next unit's lower bound
// is beyond the k-th best, so results equal a brute-force scan's (tested).
#pragma once

#include <cstdint>
#include <memory>

#include "common/geo/unit_router.hpp"
#include "common/geo/unit_table.hpp"

namespace huxiao::geo {

class NearestUnitRouter final : public UnitRouter {
  public:
    explicit NearestUnitRouter(RouterOptions options = {});
    ~NearestUnitRouter() override;
    NearestUnitRouter(const NearestUnitRouter&) = delete;
    NearestUnitRouter& operator=(const NearestUnitRouter&) = delete;
    NearestUnitRouter(NearestUnitRouter&&) noexcept;
    NearestUnitRouter& operator=(NearestUnitRouter&&) noexcept;

    void set_position(std::string_view unit, GeoPoint where, TimePoint reported_at) override;
    void set_eligible(std::string_view unit, bool eligible) override;
    void remove(std::string_view unit) override;
    void set_guard_posts(std::vector<GuardPost> posts) override;
    std::vector<RankedUnit> rank(const RouteRequest& request) const override;
    std::optional<RankedUnit> estimate(std::string_view unit, GeoPoint to) const override;

    // Units currently in the spatial index (eligible with a position).
    std::size_t indexed() const;

  private:
    struct Index;  // the rtree, kept out of the header to spare includers Boost.Geometry
    void reindex(UnitTable::SlotId id);

    UnitTable table_;
    std::unique_ptr<Index> index_;
};

}  // namespace huxiao::geo
