// Fixture for tests/CMakeLists.txt (Layers.*): base includes only itself.
#include "server/base/clock.hpp"
