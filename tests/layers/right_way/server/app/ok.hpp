// Fixture for tests/CMakeLists.txt (Layers.*): app includes db and base, as it may.
#include "server/app/other.hpp"
#include "server/base/log.hpp"
#include "server/db/incident_log.hpp"
