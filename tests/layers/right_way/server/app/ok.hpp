// Fixture for tests/CMakeLists.txt (Layers.*): app includes db and base, as it may.
#include "server/app/other.hpp"
#include "server/base/log.hpp"
#include "server/db/incident_log.hpp"
// Names alike are not libpq calls: PQ types, and words merely ending in PQ.
inline int count(const PGresult* r, int (*myPQcount)(const PGresult*)) { return myPQcount(r); }
