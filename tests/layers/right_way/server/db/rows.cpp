// Fixture for tests/CMakeLists.txt (Layers.*): libpq in server/db/, where it belongs.
#include <libpq-fe.h>

int rows(const PGresult* r) { return PQntuples(r); }
