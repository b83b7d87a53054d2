#include "ithaca/signaling/cors.hpp"

#include <algorithm>
#include <cctype>

#include "ithaca/net/http_server.hpp"

namespace ithaca::signaling {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins, bool allow_any)
    : allow_any_(allow_any) {
  for (auto& o : allowed_origins) {
    if (o == "*") {
      allow_any_ = true;
    } else {
      origins_.push_back(lower(o));
    }
  }
}

CorsPolicy::Decision CorsPolicy::decide(std::string_view origin) const {
  if (origin.empty()) return Decision::no_origin;
  if (allow_any_) return Decision::allowed;
  return std::find(origins_.begin(), origins_.end(), lower(origin)) != origins_.end()
             ? Decision::allowed
             : Decision::refused;
}

void CorsPolicy::apply(const net::HttpRequest& request, net::HttpResponse& response) const {
  response.headers.emplace_back("Vary", "Origin");
  const std::string_view origin = request.header("origin");
  if (decide(origin) == Decision::allowed) {
    response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    // A WHEP client reads the answer's Location to leave later.
    response.headers.emplace_back("Access-Control-Expose-Headers", "Location");
  }
}

net::HttpResponse CorsPolicy::preflight(const net::HttpRequest& request) const {
  const std::string_view origin = request.header("origin");
  if (decide(origin) == Decision::refused) {
    net::HttpResponse refused = net::error_response(make_error(ErrorCode::origin_not_allowed));
    refused.headers.emplace_back("Vary", "Origin");
    return refused;
  }
  net::HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  apply(request, r);
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers", "content-type, authorization");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

}  // namespace ithaca::signaling
