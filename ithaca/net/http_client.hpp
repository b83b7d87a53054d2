// HttpClient: a small blocking HTTP/1.1 client with one keep-alive connection, for tests,
// benchmarks and operator tooling. Not thread-safe: one per thread. Reconnects on demand.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/net/http.hpp"

namespace ithaca::net {

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // An answered request is a value whatever its status; a transport failure (connect, write,
  // read) is ErrorCode::internal with the reason.
  Result<HttpResponse> request(const std::string& method, const std::string& target,
                               const std::string& body = {},
                               std::vector<std::pair<std::string, std::string>> headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ithaca::net
