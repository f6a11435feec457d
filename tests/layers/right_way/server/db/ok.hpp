// Fixture for tests/CMakeLists.txt (Layers.*): db includes base.
#include "server/base/log.hpp"
