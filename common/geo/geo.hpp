// Distances and travel-time estimates on the Earth's surface. Dispatching ranks
// units by estimated travel time; until a road-network router exists the
// estimate is the great-circle distance stretched by a road factor and driven
// at a constant speed (contract §2 `dispatch.road_factor`, `speed_kmh`).
#pragma once

#include "common/model/registry.hpp"

namespace huxiao::geo {

// Mean Earth radius (IUGG), metres. The spherical model errs by at most ~0.5 %
// against the ellipsoid, far below what the road factor already approximates.
inline constexpr double kEarthRadiusM = 6371008.8;

// Great-circle distance in metres (haversine; stable for short distances).
double haversine_m(GeoPoint a, GeoPoint b);

// True when lat/lon are finite and within [-90, 90] / [-180, 180].
bool is_valid(GeoPoint p);

// ETA = distance x road_factor / speed. Monotone in distance, which is what
// lets the router find the k best by ETA as the k nearest by distance.
struct EtaModel {
    double road_factor = 1.3;
    double speed_kmh = 40;

    double eta_s(double distance_m) const { return distance_m * road_factor / (speed_kmh / 3.6); }
};

}  // namespace huxiao::geo
