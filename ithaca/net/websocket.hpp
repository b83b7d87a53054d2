// WebSocket on top of HttpServer, as plain values: no module but net/ sees Boost.Beast.
//
// Server side: HttpServerOptions::websocket_acceptor is called (on a network thread, must not
// block) for every upgrade request. It refuses with an HttpResponse or accepts with a
// WebSocketHandler (owned by the connection from then on) and optionally a subprotocol to echo.
// The handler's callbacks for one connection are serialized on that connection's strand, run on
// a network thread, and must not block. on_close is called exactly once for every accepted
// handler: after a close handshake, a transport error, an idle timeout, a protocol violation, a
// failed opening handshake (then without on_open before it), and at the latest when the
// HttpServer is destroyed. After on_close the connection drops its handler.
//
// The application keeps a std::shared_ptr<WebSocketConnection> (given to on_open) to send and
// close from any thread. It does not keep the connection alive: once the connection is gone, its
// calls do nothing. Stop sending before destroying the HttpServer.
//
// WebSocketClient: a small blocking client for tests, benchmarks and operator tooling; not
// thread-safe, one per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/net/http.hpp"

namespace ithaca::net {

// Close codes this module sends itself (RFC 6455 section 7.4.1); the application's codes come
// from the error catalog (ErrorInfo::ws_close_code, 4xxx).
namespace ws_close {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;
inline constexpr int unsupported_data = 1003;  // a binary frame: the protocol is JSON text
inline constexpr int abnormal = 1006;  // reported only, never sent: no close frame was received
inline constexpr int too_big = 1009;   // a message over WebSocketOptions::max_message_bytes
inline constexpr int internal_error = 1011;
}  // namespace ws_close

struct WebSocketOptions {
  // Signaling messages are small JSON (an SDP offer is a few KiB); 64 KiB leaves room for
  // metadata while bounding what one peer can make us buffer.
  size_t max_message_bytes = 64 * 1024;
  // Nothing received for this long closes the connection. A ping goes out when half of it
  // passed in silence, so a live peer (browsers answer pings) never reaches it. 30 s is under
  // the 60 s idle limit of common proxies and load balancers.
  std::chrono::milliseconds idle_timeout{30'000};
  // Time allowed for the opening and the closing handshakes.
  std::chrono::milliseconds handshake_timeout{10'000};
};

// The application's handle on one connection. Thread-safe.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues a text message; messages go out in the order of the calls. Ignored once the
  // connection is closing or closed.
  virtual void send_text(std::string message) = 0;
  // Sends the messages already queued, then a close frame with `code` (1000, or 4000-4999 for
  // the application) and `reason` (at most 123 bytes; longer is cut). Later calls are ignored.
  virtual void close(int code, std::string reason) = 0;
  virtual const std::string& remote_address() const = 0;
};

// The application's side of one connection. Callbacks are serialized (see the top of the file).
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  virtual void on_open(std::shared_ptr<WebSocketConnection> connection) = 0;
  virtual void on_text(std::string message) = 0;
  // `code`: the peer's close code when it sent a close frame, else the code this side closed
  // with, else 1006 (transport error, idle timeout, server stopped). `clean`: the peer sent a
  // close frame with 1000.
  virtual void on_close(int code, std::string reason, bool clean) = 0;
};

struct WebSocketAccept {
  std::shared_ptr<WebSocketHandler> handler;  // not null
  // Echoed in Sec-WebSocket-Protocol; should be one the client offered.
  std::optional<std::string> subprotocol;
  // Overrides WebSocketOptions::max_message_bytes for this connection (e.g. a channel that
  // carries start images).
  std::optional<size_t> max_message_bytes;
};

// Extra request headers of a client's opening handshake (e.g. Authorization).
using WebSocketHeaders = std::vector<std::pair<std::string, std::string>>;

// Either a refusal, sent as a normal HTTP response (e.g. error_response(...)), or an accept.
using WebSocketDecision = std::variant<HttpResponse, WebSocketAccept>;
// Called with the upgrade request (path, query, headers incl. sec-websocket-protocol, remote
// address) on a network thread; must not block. An exception becomes a 500.
using WebSocketAcceptor = std::function<WebSocketDecision(const HttpRequest& request)>;

// ws://HOST:PORT/TARGET split (wss:// is not supported: put a TLS proxy in front of long links).
struct WebSocketUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";
};
Result<WebSocketUrl> parse_websocket_url(const std::string& url);

// Opens client connections that live on their own network thread, with the server side's
// handler model (on_open, on_text, on_close exactly once; send and close through the
// WebSocketConnection from any thread). For long-lived links such as a streamer's link to its
// server. A failed resolve, connect or handshake is reported as on_close(1006, why, false)
// without on_open. Destroying the dialer ends its connections (on_close 1006) and joins its
// thread: it must outlive the handlers' use of their connections.
class WebSocketDialer {
 public:
  explicit WebSocketDialer(WebSocketOptions options = {});
  ~WebSocketDialer();
  WebSocketDialer(const WebSocketDialer&) = delete;
  WebSocketDialer& operator=(const WebSocketDialer&) = delete;

  void dial(const std::string& url, WebSocketHeaders headers,
            std::shared_ptr<WebSocketHandler> handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class WebSocketClient {
 public:
  WebSocketClient();
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Opens a connection (closing any previous one). A refused upgrade is ErrorCode::internal with
  // details {"status": <http status>}; handshake_response() then holds the full answer.
  Status connect(const std::string& host, uint16_t port, const std::string& target,
                 std::optional<std::string> subprotocol = std::nullopt,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5),
                 WebSocketHeaders headers = {});
  // The server's answer to the last connect(): 101 with its headers, or the refusal.
  const HttpResponse& handshake_response() const;

  Status send_text(const std::string& message);
  // The next text message. A close frame from the server yields an error and sets close_code();
  // a timeout yields an error and ends the connection (without a close frame).
  Result<std::string> read_text(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends a close frame and waits (up to `timeout`) for the server's, discarding messages.
  Status close(int code = ws_close::normal, const std::string& reason = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Closes the TCP connection without a close frame (to test unclean endings).
  void drop();

  // The close frame the server sent, once one was read; nullopt before.
  std::optional<int> close_code() const;
  const std::string& close_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ithaca::net
