// CORS for the HTTP routes a browser calls directly with only client credentials (signaling's
// /config; WHEP later). An Origin is allowed when it is listed in signaling.cors_origins
// (compared case-insensitively), or always when the list holds "*" or the node runs --dev.
// Allowed origins are echoed in Access-Control-Allow-Origin (never a literal "*", so it works
// with credentials); every answer carries Vary: Origin so caches keep them apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ithaca/net/http.hpp"

namespace ithaca::signaling {

class CorsPolicy {
 public:
  CorsPolicy(std::vector<std::string> allowed_origins, bool allow_any);

  enum class Decision {
    no_origin,  // not a cross-origin browser request: nothing to add
    allowed,
    refused,
  };
  Decision decide(std::string_view origin) const;
  bool allow_any() const { return allow_any_; }

  // For the answer to a simple (non-preflight) request: adds Vary: Origin and, when the
  // request's Origin is allowed, Access-Control-Allow-Origin. A refused origin gets no CORS
  // header (the browser then hides the answer from the page); the answer itself is unchanged.
  void apply(const net::HttpRequest& request, net::HttpResponse& response) const;
  // The answer to an OPTIONS preflight: 204 with Allow-Origin, Allow-Methods (GET, POST, DELETE,
  // OPTIONS), Allow-Headers (content-type, authorization) and Max-Age; 403 origin_not_allowed
  // for an origin that is not allowed.
  net::HttpResponse preflight(const net::HttpRequest& request) const;

 private:
  std::vector<std::string> origins_;  // lower case
  bool allow_any_ = false;
};

}  // namespace ithaca::signaling
