// The OpenAPI 3.1 document of the HTTP API (docs/api/openapi.json), compiled
// into the binary by server/api/embed_openapi.cmake so that
// GET /api/v1/openapi.json serves exactly the repository's file and never
// opens a path at run time.
#pragma once

#include <string_view>

namespace huxiao::api {
std::string_view openapi_document();
}  // namespace huxiao::api
