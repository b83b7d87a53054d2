// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast, handing each request to one handler.
//
// Threads: `threads` threads run one io_context; a handler runs on the thread that read its
// request and may block (the store's group commit makes a mint wait ~1 ms), so threads should
// exceed cores. Malformed HTTP gets 400, a body over max_body_bytes 413, headers over
// max_header_bytes 431, all as JSON errors, and the connection closes; an exception escaping
// the handler becomes a 500 and is logged. Nothing a client sends can stop the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/net/http.hpp"

namespace ithaca::net {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (tests); see port()
  int threads = 32;
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds idle_timeout{60};  // a keep-alive connection with no request is closed
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (so port() is known) without serving yet; config_invalid naming the address when it
  // cannot bind. start() calls it when it was not called.
  Status listen();
  // Starts accepting and the threads.
  Status start();
  uint16_t port() const;
  // Stops accepting, closes connections, joins the threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON body of an error response: {"detail": {"code", "message", "retryable", ...}}.
HttpResponse error_response(const Error& error);

}  // namespace ithaca::net
