#include "common/geo/geo.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace huxiao::geo {

namespace {
constexpr double kRadPerDeg = std::numbers::pi / 180.0;
}

double haversine_m(GeoPoint a, GeoPoint b) {
    const double phi1 = a.lat * kRadPerDeg;
    const double phi2 = b.lat * kRadPerDeg;
    const double sin_dphi = std::sin((phi2 - phi1) / 2);
    const double sin_dlambda = std::sin((b.lon - a.lon) * kRadPerDeg / 2);
    double h = sin_dphi * sin_dphi + std::cos(phi1) * std::cos(phi2) * sin_dlambda * sin_dlambda;
    // Rounding can push h a hair above 1 for antipodal points; asin would return NaN.
    h = std::clamp(h, 0.0, 1.0);
    return 2 * kEarthRadiusM * std::asin(std::sqrt(h));
}

bool is_valid(GeoPoint p) {
    return std::isfinite(p.lat) && std::isfinite(p.lon) && p.lat >= -90 && p.lat <= 90 &&
           p.lon >= -180 && p.lon <= 180;
}

}  // namespace huxiao::geo
