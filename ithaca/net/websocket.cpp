#include "ithaca/net/websocket.hpp"

#include <pthread.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <deque>
#include <sstream>
#include <thread>

#include "ithaca/base/log.hpp"
#include "ithaca/net/websocket_session.hpp"

namespace ithaca::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using WsStream = websocket::stream<beast::tcp_stream>;

// RFC 6455 section 5.5: a control frame payload is at most 125 bytes, 2 of them the code.
constexpr size_t kMaxCloseReasonBytes = 123;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("websocket");
  return l;
}

websocket::close_reason make_close_reason(int code, std::string reason) {
  if (reason.size() > kMaxCloseReasonBytes) reason.resize(kMaxCloseReasonBytes);
  websocket::close_reason r(static_cast<websocket::close_code>(code));
  r.reason = std::move(reason);
  return r;
}

class Session;

// What the application holds: a weak reference, so that its handler (owned by the session) may
// keep this handle without a reference cycle.
class Handle final : public WebSocketConnection {
 public:
  Handle(std::weak_ptr<Session> session, std::string remote)
      : session_(std::move(session)), remote_(std::move(remote)) {}
  void send_text(std::string message) override;
  void close(int code, std::string reason) override;
  const std::string& remote_address() const override { return remote_; }

 private:
  std::weak_ptr<Session> session_;
  std::string remote_;
};

// One accepted connection. Everything below runs on the socket's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(beast::tcp_stream stream, std::shared_ptr<WebSocketHandler> handler,
          WebSocketOptions options, std::string remote)
      : ws_(std::move(stream)),
        handler_(std::move(handler)),
        options_(options),
        remote_(std::move(remote)) {}

  ~Session() {
    // The io_context went away with this connection still open (server or dialer stopped).
    report(ws_close::abnormal, "stopped");
  }

  // Server side: answers the upgrade `request`, echoing `subprotocol`.
  void start_server(http::request<http::string_body> request,
                    std::optional<std::string> subprotocol) {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), r = std::move(request),
                                        p = std::move(subprotocol)]() mutable {
      self->configure();
      self->ws_.set_option(
          websocket::stream_base::decorator([p = std::move(p)](websocket::response_type& res) {
            res.set(http::field::server, "ithaca");
            if (p) res.set(http::field::sec_websocket_protocol, *p);
          }));
      self->request_ = std::move(r);
      self->ws_.async_accept(self->request_, [self](beast::error_code ec) { self->on_open(ec); });
    });
  }

  // Client side: sends the opening handshake for `target` on the connected stream.
  void start_client(std::string host, std::string target, WebSocketHeaders headers) {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), host = std::move(host),
                                        target = std::move(target),
                                        headers = std::move(headers)]() mutable {
      self->configure();
      self->ws_.set_option(websocket::stream_base::decorator(
          [headers = std::move(headers)](websocket::request_type& req) {
            req.set(http::field::user_agent, "ithaca");
            for (const auto& [name, value] : headers) req.set(name, value);
          }));
      self->ws_.async_handshake(host, target, [self](beast::error_code ec) { self->on_open(ec); });
    });
  }

  void post_send(std::string message) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
      self->enqueue(std::move(m));
    });
  }

  void post_close(int code, std::string reason) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)]() {
      self->begin_close(code, r);
    });
  }

 private:
  void configure() {
    // The HTTP layer's deadline must not cut the WebSocket: it has its own timeouts.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = options_.handshake_timeout;
    t.idle_timeout = options_.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(options_.max_message_bytes);
  }

  void on_open(beast::error_code ec) {
    request_ = {};
    if (ec) {
      log()->info("handshake failed remote={} error={}", remote_, ec.message());
      return report(ws_close::abnormal, "handshake failed: " + ec.message());
    }
    open_ = true;
    log()->debug("open remote={}", remote_);
    if (!call([&] { handler_->on_open(std::make_shared<Handle>(weak_from_this(), remote_)); })) {
      return;
    }
    read();
  }

  void read() {
    if (!handler_) return;
    ws_.async_read(
        buffer_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == websocket::error::message_too_big) {
      // Beast already sent the close frame with 1009 and tore the connection down.
      return report(ws_close::too_big,
                    "message over " + std::to_string(options_.max_message_bytes) + " bytes");
    }
    if (ec == beast::error::timeout) return report(ws_close::abnormal, "idle timeout");
    if (ec) return report(ws_close::abnormal, ec.message());
    if (ws_.got_binary()) {
      buffer_.consume(buffer_.size());
      return begin_close(ws_close::unsupported_data, "binary frames are not supported");
    }
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (!call([&] { handler_->on_text(std::move(message)); })) return;
    read();
  }

  void enqueue(std::string message) {
    if (!open_ || closing_ || !handler_) return;
    queue_.push_back(std::move(message));
    if (!writing_) write();
  }

  void write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(
        asio::buffer(queue_.front()),
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    queue_.pop_front();  // never cleared while a write is in flight: it holds the bytes
    if (ec) {
      // The pending read fails too and reports the close.
      queue_.clear();
      beast::get_lowest_layer(ws_).socket().close(ec);
      return;
    }
    if (!queue_.empty()) return write();
    if (closing_) send_close();
  }

  void begin_close(int code, std::string reason) {
    if (!open_ || closing_ || !handler_) return;
    closing_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    if (!writing_) send_close();
  }

  void send_close() {
    ws_.async_close(make_close_reason(close_code_, close_reason_),
                    [self = shared_from_this()](beast::error_code ec) {
                      // With a read pending, the read reports; else (binary frame) report here.
                      self->report(ws_close::abnormal, ec ? ec.message() : "closed");
                    });
  }

  // Runs a handler callback; an exception closes the connection with 1011.
  template <class F>
  bool call(F&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& e) {
      log()->error("handler threw remote={} what={}", remote_, e.what());
    }
    if (open_ && !closing_) {
      begin_close(ws_close::internal_error, "internal error");
    } else {
      report(ws_close::internal_error, "internal error");
    }
    return false;
  }

  // Calls on_close once: the peer's close frame, else ours, else the fallback.
  void report(int fallback_code, std::string fallback_reason) {
    if (!handler_) return;
    auto handler = std::move(handler_);
    handler_.reset();
    const websocket::close_reason& peer = ws_.reason();
    int code = fallback_code;
    std::string reason = std::move(fallback_reason);
    bool clean = false;
    if (peer.code != websocket::close_code::none) {
      code = peer.code;
      reason = std::string(peer.reason.data(), peer.reason.size());
      clean = code == ws_close::normal;
    } else if (close_code_ != 0) {
      code = close_code_;
      reason = close_reason_;
    }
    log()->debug("close remote={} code={} clean={} reason={}", remote_, code, clean, reason);
    try {
      handler->on_close(code, std::move(reason), clean);
    } catch (const std::exception& e) {
      log()->error("handler threw in on_close remote={} what={}", remote_, e.what());
    }
  }

  WsStream ws_;
  http::request<http::string_body> request_;
  std::shared_ptr<WebSocketHandler> handler_;  // null once on_close was called
  const WebSocketOptions options_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  int close_code_ = 0;
  std::string close_reason_;
};

void Handle::send_text(std::string message) {
  if (auto s = session_.lock()) s->post_send(std::move(message));
}

void Handle::close(int code, std::string reason) {
  if (auto s = session_.lock()) s->post_close(code, std::move(reason));
}

}  // namespace

namespace internal {
void start_websocket_session(beast::tcp_stream stream, http::request<http::string_body> request,
                             WebSocketAccept accept, const WebSocketOptions& options,
                             std::string remote_address) {
  WebSocketOptions own = options;
  if (accept.max_message_bytes) own.max_message_bytes = *accept.max_message_bytes;
  std::make_shared<Session>(std::move(stream), std::move(accept.handler), own,
                            std::move(remote_address))
      ->start_server(std::move(request), std::move(accept.subprotocol));
}
}  // namespace internal

// ---- WebSocketDialer ----

Result<WebSocketUrl> parse_websocket_url(const std::string& url) {
  constexpr std::string_view kScheme = "ws://";
  if (url.rfind(kScheme, 0) != 0) {
    return make_error(ErrorCode::config_invalid, "'" + url + "' is not a ws:// URL");
  }
  const std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  WebSocketUrl out;
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos)
      return make_error(ErrorCode::config_invalid, "bad host in " + url);
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return make_error(ErrorCode::config_invalid, "bad host or port in '" + url + "'");
  }
  out.port = static_cast<uint16_t>(std::stoi(port));
  return out;
}

struct WebSocketDialer::Impl {
  explicit Impl(WebSocketOptions o) : options(o), work(asio::make_work_guard(io)) {
    thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "ws-dialer");
      io.run();
    });
  }
  WebSocketOptions options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
};

WebSocketDialer::WebSocketDialer(WebSocketOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

WebSocketDialer::~WebSocketDialer() {
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void WebSocketDialer::dial(const std::string& url, WebSocketHeaders headers,
                           std::shared_ptr<WebSocketHandler> handler) {
  auto fail = [handler](const std::string& why) {
    try {
      handler->on_close(ws_close::abnormal, why, false);
    } catch (const std::exception& e) {
      log()->error("handler threw in on_close what={}", e.what());
    }
  };
  auto parsed = parse_websocket_url(url);
  if (!parsed) {
    asio::post(impl_->io, [fail, why = parsed.error().detail] { fail(why); });
    return;
  }
  auto resolver = std::make_shared<tcp::resolver>(impl_->io);
  auto stream = std::make_shared<beast::tcp_stream>(impl_->io);
  const WebSocketUrl where = *parsed;
  const WebSocketOptions options = impl_->options;
  resolver->async_resolve(
      where.host, std::to_string(where.port),
      [resolver, stream, where, options, fail, handler, headers = std::move(headers)](
          beast::error_code ec, tcp::resolver::results_type results) mutable {
        if (ec) return fail("resolve " + where.host + ": " + ec.message());
        stream->expires_after(options.handshake_timeout);
        stream->async_connect(
            results, [stream, where, options, fail, handler, headers = std::move(headers)](
                         beast::error_code ec, const tcp::endpoint& endpoint) mutable {
              if (ec) return fail("connect: " + ec.message());
              stream->socket().set_option(tcp::no_delay(true), ec);  // as the server's sockets
              std::ostringstream remote;
              remote << endpoint;
              const std::string host_header = where.host + ":" + std::to_string(where.port);
              std::make_shared<Session>(std::move(*stream), std::move(handler), options,
                                        remote.str())
                  ->start_client(host_header, where.target, std::move(headers));
            });
      });
}

// ---- WebSocketClient ----

struct WebSocketClient::Impl {
  asio::io_context io;
  std::optional<WsStream> ws;
  beast::flat_buffer buffer;
  HttpResponse handshake;
  std::optional<int> close_code;
  std::string close_reason;

  // Runs the io_context until the operation started before completes; `timeout` bounds it
  // through the TCP stream's deadline (a timeout closes the socket).
  void run(std::chrono::milliseconds timeout) {
    beast::get_lowest_layer(*ws).expires_after(timeout);
    io.restart();
    io.run();
  }

  void note_close() {
    const auto& r = ws->reason();
    if (r.code != websocket::close_code::none) {
      close_code = r.code;
      close_reason = std::string(r.reason.data(), r.reason.size());
    }
  }
};

WebSocketClient::WebSocketClient() : impl_(std::make_unique<Impl>()) {}
WebSocketClient::~WebSocketClient() = default;

Status WebSocketClient::connect(const std::string& host, uint16_t port, const std::string& target,
                                std::optional<std::string> subprotocol,
                                std::chrono::milliseconds timeout, WebSocketHeaders headers) {
  auto& i = *impl_;
  i.ws.reset();
  i.ws.emplace(i.io);
  i.buffer.clear();
  i.handshake = {};
  i.close_code.reset();
  i.close_reason.clear();
  beast::error_code ec;
  tcp::resolver resolver(i.io);
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (!ec) {
    beast::get_lowest_layer(*i.ws).expires_after(timeout);
    beast::get_lowest_layer(*i.ws).connect(results, ec);
    if (!ec) beast::get_lowest_layer(*i.ws).socket().set_option(tcp::no_delay(true), ec);
  }
  if (ec) {
    i.ws.reset();
    return make_error(ErrorCode::internal, "connect: " + ec.message());
  }
  i.ws->set_option(websocket::stream_base::decorator(
      [p = std::move(subprotocol), h = std::move(headers)](websocket::request_type& req) {
        if (p) req.set(http::field::sec_websocket_protocol, *p);
        for (const auto& [name, value] : h) req.set(name, value);
      }));
  websocket::response_type res;
  i.ws->async_handshake(res, host + ":" + std::to_string(port), target,
                        [&ec](beast::error_code e) { ec = e; });
  i.run(timeout);
  i.handshake.status = static_cast<int>(res.result_int());
  i.handshake.content_type = std::string(res[http::field::content_type]);
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i.handshake.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  i.handshake.body = res.body();
  if (ec) {
    i.ws.reset();
    return make_error(ErrorCode::internal, "websocket handshake: " + ec.message(),
                      {{"status", i.handshake.status}});
  }
  beast::get_lowest_layer(*i.ws).expires_never();
  return ok_status();
}

const HttpResponse& WebSocketClient::handshake_response() const {
  return impl_->handshake;
}

Status WebSocketClient::send_text(const std::string& message) {
  auto& i = *impl_;
  if (!i.ws) return make_error(ErrorCode::internal, "websocket: not connected");
  beast::error_code ec;
  i.ws->text(true);
  i.ws->async_write(asio::buffer(message), [&ec](beast::error_code e, size_t) { ec = e; });
  i.run(std::chrono::seconds(5));
  if (ec) return make_error(ErrorCode::internal, "websocket write: " + ec.message());
  return ok_status();
}

Result<std::string> WebSocketClient::read_text(std::chrono::milliseconds timeout) {
  auto& i = *impl_;
  if (!i.ws) return make_error(ErrorCode::internal, "websocket: not connected");
  beast::error_code ec;
  i.ws->async_read(i.buffer, [&ec](beast::error_code e, size_t) { ec = e; });
  i.run(timeout);
  if (ec) {
    i.note_close();
    i.ws.reset();
    return make_error(ErrorCode::internal, "websocket read: " + ec.message(),
                      {{"close_code", i.close_code.value_or(ws_close::abnormal)}});
  }
  std::string out = beast::buffers_to_string(i.buffer.data());
  i.buffer.consume(i.buffer.size());
  return out;
}

Status WebSocketClient::close(int code, const std::string& reason,
                              std::chrono::milliseconds timeout) {
  auto& i = *impl_;
  if (!i.ws) return make_error(ErrorCode::internal, "websocket: not connected");
  beast::error_code ec;
  i.ws->async_close(make_close_reason(code, reason), [&ec](beast::error_code e) { ec = e; });
  i.run(timeout);
  i.note_close();
  i.ws.reset();
  if (ec) return make_error(ErrorCode::internal, "websocket close: " + ec.message());
  return ok_status();
}

void WebSocketClient::drop() {
  auto& i = *impl_;
  if (!i.ws) return;
  beast::error_code ec;
  beast::get_lowest_layer(*i.ws).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(*i.ws).socket().close(ec);
  i.ws.reset();
}

std::optional<int> WebSocketClient::close_code() const {
  return impl_->close_code;
}

const std::string& WebSocketClient::close_reason() const {
  return impl_->close_reason;
}

}  // namespace ithaca::net
