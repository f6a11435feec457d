// Fixture for tests/CMakeLists.txt (Layers.*): libpq outside server/db/.
#include <libpq-fe.h>

#include "server/db/read_db.hpp"

int rows(const PGresult* r) { return PQntuples(r); }
