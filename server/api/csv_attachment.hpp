// The one shape of a CSV download (the reports' .csv endpoints, contract §5,
// §10): 200, text/csv in UTF-8, an attachment with its file name, never cached.
#pragma once

#include <string>

#include "server/api/api_router.hpp"

namespace huxiao::api {

// `filename`: a fixed name chosen by the server (it is not quoted further).
ApiRouter::Response csv_attachment(const ApiRouter::Call& call, const std::string& filename,
                                   std::string body);

}  // namespace huxiao::api
