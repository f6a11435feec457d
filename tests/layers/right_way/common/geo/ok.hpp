// Fixture for tests/CMakeLists.txt (Layers.*): the core includes only the core.
#include "common/geo/geo.hpp"
