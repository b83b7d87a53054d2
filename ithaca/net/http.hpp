// Plain HTTP request and response values, so that no module but net/ sees Boost.Beast (one
// translation unit with Beast costs ~40 s to compile on the target machine).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ithaca::net {

struct HttpRequest {
  std::string method;                                        // upper case, e.g. "POST"
  std::string path;                                          // the target before '?', not decoded
  std::string query;                                         // after '?', raw
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;
  std::string remote_address;

  // The first value of a header (name lower case), or "".
  std::string_view header(std::string_view name) const;
  // A query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

std::string percent_decode(std::string_view text);

// The credential of "Authorization: Bearer <x>", the scheme in any case (RFC 9110 11.1, RFC
// 6750), surrounding blanks trimmed; nullopt without one. Every route that takes a bearer
// (the API, the streamer link, the player and spectator endpoints) reads it here.
std::optional<std::string> bearer_token(const HttpRequest& request);

}  // namespace ithaca::net
