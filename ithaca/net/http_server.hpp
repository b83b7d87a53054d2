// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast, handing each request to one handler.
//
// Threads: `threads` threads run one io_context. The handler is called on one of them and must
// not block: it answers through `respond`, at once or later from any thread (work that waits,
// such as a store write, goes elsewhere and responds when done). Requests on one connection are
// answered in order: the next is read only after the answer went out. Malformed HTTP gets 400
// (so does any Transfer-Encoding but a sole `chunked`, and Content-Length beside it), a
// body over max_body_bytes 413, headers over max_header_bytes 431, all as JSON errors, and the
// connection closes; an exception escaping the handler becomes a 500 and is logged. Nothing a
// client sends can stop the server.
//
// WebSocket: when websocket_acceptor is set, an upgrade request goes to it instead of the
// handler (see net/websocket.hpp); without it, upgrade requests reach the handler like any other.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/net/http.hpp"
#include "ithaca/net/websocket.hpp"

namespace ithaca::net {

// Must be called exactly once per request, from any thread.
using Respond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest request, Respond respond)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (tests); see port()
  int threads = 2;    // network threads; nothing blocks on them
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds idle_timeout{60};  // a keep-alive connection with no request is closed
  // Set on every HTTP answer: the handler's, the server's own refusals (400, 413, 431) and
  // WebSocket refusals (a --dev node's X-Ithaca-Dev-Only).
  std::vector<std::pair<std::string, std::string>> response_headers;
  WebSocketAcceptor websocket_acceptor;  // empty: no WebSocket support
  WebSocketOptions websocket;
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
