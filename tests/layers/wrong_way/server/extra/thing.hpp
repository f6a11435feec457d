// Fixture for tests/CMakeLists.txt (Layers.*): a folder not in the order.
#include "server/base/log.hpp"
