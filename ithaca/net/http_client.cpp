#include "ithaca/net/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ithaca::net {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
}  // namespace

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::string host, uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::request(const std::string& method, const std::string& target,
                                         const std::string& body,
                                         std::vector<std::pair<std::string, std::string>> headers) {
  auto& i = *impl_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    beast::error_code ec;
    const bool fresh = !i.stream;
    if (fresh) {
      i.stream.emplace(i.io);
      i.buffer.clear();
      tcp::resolver resolver(i.io);
      const auto results = resolver.resolve(i.host, std::to_string(i.port), ec);
      if (!ec) i.stream->connect(results, ec);
      if (!ec) i.stream->socket().set_option(tcp::no_delay(true), ec);
      if (ec) {
        i.stream.reset();
        return make_error(ErrorCode::internal, "connect: " + ec.message());
      }
    }
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, i.host);
    bool has_type = false;
    for (auto& [k, v] : headers) {
      has_type |= beast::iequals(k, "content-type");
      req.set(k, v);
    }
    if (!body.empty() && !has_type) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(*i.stream, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) http::read(*i.stream, i.buffer, parser, ec);
    if (ec) {
      i.stream.reset();
      // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
      if (!fresh) continue;
      return make_error(ErrorCode::internal, "http: " + ec.message());
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    for (const auto& f : res)
      out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) i.stream.reset();
    return out;
  }
  return make_error(ErrorCode::internal, "http: connection lost");
}

}  // namespace ithaca::net
