#include "server/api/csv_attachment.hpp"

#include <boost/beast/http.hpp>

namespace huxiao::api {

namespace http = boost::beast::http;

ApiRouter::Response csv_attachment(const ApiRouter::Call& call, const std::string& filename,
                                   std::string body) {
    ApiRouter::Response out{http::status::ok, call.req.version()};
    out.set(http::field::server, "huxiaod");
    out.set(http::field::content_type, "text/csv; charset=utf-8");
    out.set(http::field::content_disposition, "attachment; filename=\"" + filename + "\"");
    out.set(http::field::cache_control, "no-store");
    out.keep_alive(call.req.keep_alive());
    out.body() = std::move(body);
    out.prepare_payload();
    return out;
}

}  // namespace huxiao::api
