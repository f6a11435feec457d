// Fixture for tests/CMakeLists.txt (Layers.*): the database layer reaching up into app.
#include "server/app/dispatcher.hpp"
#include "server/base/log.hpp"
