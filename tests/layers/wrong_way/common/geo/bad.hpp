// Fixture for tests/CMakeLists.txt (Layers.*): the pure core including the shell.
#include "server/base/clock.hpp"
