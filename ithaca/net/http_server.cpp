#include "ithaca/net/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <thread>
#include <vector>

#include "ithaca/base/log.hpp"
#include "ithaca/net/websocket_session.hpp"

namespace ithaca::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("http");
  return l;
}

HttpRequest to_request(http::request<http::string_body>&& in, const std::string& remote) {
  HttpRequest out;
  out.method = std::string(in.method_string());
  const std::string_view target = in.target();
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  out.body = std::move(in.body());
  out.remote_address = remote;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// RFC 9112 6.1/6.3: the only request transfer coding served is a sole `chunked` (every
// Transfer-Encoding line read as one list, empty elements ignored); anything else, and
// Content-Length beside Transfer-Encoding, is refused before the body is read. Left to the
// parser, `identity` or `chunked, identity` means "no body" and the body is read as the next
// request. The reason, or empty when the framing is sound.
std::string framing_problem(const http::request_parser<http::string_body>::value_type& header) {
  int codings = 0;
  bool has_te = false;
  for (const auto& field : header) {
    if (field.name() != http::field::transfer_encoding) continue;
    has_te = true;
    std::string_view list = field.value();
    while (true) {
      const auto comma = list.find(',');
      const std::string_view item = trim(list.substr(0, comma));
      if (!item.empty()) {
        if (!iequals(item, "chunked") || ++codings > 1) {
          return "unsupported Transfer-Encoding (only chunked is accepted)";
        }
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (!has_te) return {};
  if (codings != 1) return "unsupported Transfer-Encoding (only chunked is accepted)";
  if (header.count(http::field::content_length) > 0) {
    return "Content-Length with Transfer-Encoding";
  }
  return {};
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const HttpServerOptions& options, const HttpHandler& handler)
      : stream_(std::move(socket)), options_(options), handler_(handler) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream_.expires_after(options_.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // The framing is checked on the header alone, before a byte of the body is taken.
  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    if (const std::string problem = framing_problem(parser_->get()); !problem.empty()) {
      return reply_and_close(
          error_response(make_error(ErrorCode::invalid_request, "malformed HTTP: " + problem)));
    }
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    if (ec == http::error::body_limit) {
      return reply_and_close(error_response(
          make_error(ErrorCode::request_too_large,
                     "body over " + std::to_string(options_.max_body_bytes) + " bytes")));
    }
    if (ec == http::error::header_limit) {
      HttpResponse r =
          error_response(make_error(ErrorCode::request_too_large, "headers too large"));
      r.status = 431;
      return reply_and_close(std::move(r));
    }
    if (ec) {
      // Anything else the parser refused is a malformed request.
      return reply_and_close(error_response(
          make_error(ErrorCode::invalid_request, "malformed HTTP: " + ec.message())));
    }
    const bool keep_alive = parser_->keep_alive();
    const unsigned version = parser_->get().version();
    if (options_.websocket_acceptor && beast::websocket::is_upgrade(parser_->get())) {
      return upgrade(parser_->release(), version);
    }
    HttpRequest request = to_request(parser_->release(), remote_);
    const std::string method = request.method, path = request.path;
    // The handler may answer from another thread: hop back onto this connection's strand.
    Respond respond = [self = shared_from_this(), keep_alive, version](HttpResponse r) {
      asio::post(self->stream_.get_executor(),
                 [self, keep_alive, version, r = std::move(r)]() mutable {
                   self->write(std::move(r), keep_alive, version);
                 });
    };
    try {
      handler_(std::move(request), respond);
    } catch (const std::exception& e) {
      // Only reached when the handler threw before answering.
      log()->error("handler threw method={} path={} what={}", method, path, e.what());
      respond(error_response(make_error(ErrorCode::internal)));
    }
  }

  // Runs the acceptor; hands the socket to a WebSocket session or answers the refusal and closes.
  void upgrade(http::request<http::string_body> raw, unsigned version) {
    const std::string path(raw.target().substr(0, raw.target().find('?')));
    WebSocketDecision decision;
    try {
      decision =
          options_.websocket_acceptor(to_request(http::request<http::string_body>(raw), remote_));
    } catch (const std::exception& e) {
      log()->error("websocket acceptor threw path={} what={}", path, e.what());
      decision = error_response(make_error(ErrorCode::internal));
    }
    if (auto* refusal = std::get_if<HttpResponse>(&decision)) {
      return write(std::move(*refusal), /*keep_alive=*/false, version);
    }
    auto& accept = std::get<WebSocketAccept>(decision);
    if (!accept.handler) {
      log()->error("websocket acceptor accepted without a handler path={}", path);
      return write(error_response(make_error(ErrorCode::internal)), false, version);
    }
    // Bytes buffered past the request would be lost: a client sends no frame before the 101.
    internal::start_websocket_session(std::move(stream_), std::move(raw), std::move(accept),
                                      options_.websocket, remote_);
  }

  void write(HttpResponse r, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, "ithaca");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : options_.response_headers) res->set(k, v);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  void reply_and_close(HttpResponse r) { write(std::move(r), /*keep_alive=*/false, 11); }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  std::string remote_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions o, HttpHandler h)
      : options(std::move(o)), handler(std::move(h)), acceptor(io) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        // Small messages (signaling, link, API answers) go out at once: with Nagle on, one sent
        // while the previous is unacknowledged waits for the peer's delayed ACK (up to 40 ms).
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Connection>(std::move(s), options, handler)->start();
      } else {
        log()->warn("accept failed: {}", ec.message());
      }
      if (acceptor.is_open()) accept();
    });
  }

  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool running = false;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::listen() {
  auto& i = *impl_;
  if (i.acceptor.is_open()) return ok_status();
  beast::error_code ec;
  const auto address = asio::ip::make_address(i.options.host, ec);
  const std::string where = i.options.host + ":" + std::to_string(i.options.port);
  if (ec) return make_error(ErrorCode::config_invalid, "bad listen address " + where);
  const tcp::endpoint endpoint(address, i.options.port);
  i.acceptor.open(endpoint.protocol(), ec);
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(endpoint, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::config_invalid, "cannot listen on " + where + ": " + ec.message());
  i.port = i.acceptor.local_endpoint().port();
  return ok_status();
}

Status HttpServer::start() {
  auto& i = *impl_;
  if (auto s = listen(); !s) return s;
  i.accept();
  i.running = true;
  for (int t = 0; t < i.options.threads; ++t) i.threads.emplace_back([&i] { i.io.run(); });
  return ok_status();
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

void HttpServer::stop() {
  auto& i = *impl_;
  if (!i.running) return;
  i.running = false;
  i.io.stop();
  for (auto& t : i.threads) t.join();
  i.threads.clear();
  // No thread runs the io_context any more, so the acceptor can be closed directly: the port
  // stops taking connections now rather than when the server is destroyed.
  beast::error_code ec;
  i.acceptor.close(ec);
}

HttpResponse error_response(const Error& error) {
  const ErrorInfo& row = info(error.code);
  nlohmann::ordered_json detail = {
      {"code", row.code},
      {"message", error.detail.empty() ? std::string(row.message) : error.detail},
      {"retryable", row.retryable},
  };
  if (!row.action.empty()) detail["action"] = row.action;
  if (!error.details.empty()) detail["details"] = error.details;
  HttpResponse r;
  r.status = row.http_status;
  if (error.details.contains("retry_after_seconds")) {
    r.headers.emplace_back("Retry-After",
                           std::to_string(error.details["retry_after_seconds"].get<int64_t>()));
  }
  // Our own output: a byte that is not UTF-8 in a detail (quoted back from a request) becomes
  // U+FFFD rather than a throw (dump()'s default) and a 500.
  r.body = nlohmann::ordered_json{{"detail", detail}}.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}

}  // namespace ithaca::net
