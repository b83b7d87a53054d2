#include "ithaca/net/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <thread>

#include "ithaca/net/http_client.hpp"

namespace ithaca::net {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.threads = 2;
    o.max_body_bytes = 1024;
    server_ = std::make_unique<HttpServer>(o, [](HttpRequest r, Respond respond) {
      if (r.path == "/throw") throw std::runtime_error("boom");
      HttpResponse res;
      res.body = r.method + " " + r.path + " " + r.query_param("a").value_or("-") + " " +
                 std::string(r.header("x-test")) + " " + std::to_string(r.body.size());
      if (r.path == "/later") {
        // Answered from another thread, after the handler returned.
        std::thread([respond, res] { respond(res); }).detach();
        return;
      }
      respond(std::move(res));
    });
    ASSERT_TRUE(server_->start().ok());
  }

  // Sends raw bytes, returns everything the server answers before closing.
  std::string raw(const std::string& bytes) {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    asio::write(s, asio::buffer(bytes));
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (size_t n; (n = s.read_some(asio::buffer(buf), ec)) > 0 || !ec;) out.append(buf, n);
    return out;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRequestsWithKeepAlive) {
  HttpClient c("127.0.0.1", server_->port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("POST", "/x?a=b%20c", "body", {{"X-Test", "t"}});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /x b c t 4");
  }
}

TEST_F(HttpServerTest, AnswersFromAnotherThreadInOrder) {
  HttpClient c("127.0.0.1", server_->port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.request("GET", "/later?a=" + std::to_string(i));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, "GET /later " + std::to_string(i) + "  0");
  }
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  HttpClient c("127.0.0.1", server_->port());
  auto r = c.request("POST", "/x", std::string(2000, 'x'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("request_too_large"), std::string::npos);
}

TEST_F(HttpServerTest, MalformedHttpIs400AndTheServerLives) {
  EXPECT_NE(raw("GARBAGE\r\n\r\n").find("400"), std::string::npos);
  EXPECT_NE(raw("GET / HTTP/1.1\r\nContent-Length: zz\r\n\r\n").find("400"), std::string::npos);
  EXPECT_NE(
      raw("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").find("431"),
      std::string::npos);
  HttpClient c("127.0.0.1", server_->port());
  EXPECT_EQ(c.request("GET", "/ok")->status, 200);
}

// RFC 9112 6.1: a request whose transfer coding is not a final, sole `chunked` is a 400 and the
// connection closes; so is Content-Length with Transfer-Encoding. Read any other way, the body
// would be taken for a second request (the building block of request smuggling).
TEST_F(HttpServerTest, UnknownTransferCodingIs400AndCloses) {
  const std::string smuggled = "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (const std::string coding :
       {"identity", "xchunked", "chunked, identity", "gzip", "identity, chunked", "chunked;x=1"}) {
    SCOPED_TRACE(coding);
    const std::string out = raw("POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                "\r\n\r\n" + smuggled);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
    EXPECT_EQ(out.find("/second"), std::string::npos) << out;
    EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos) << "two answers: " << out;
    EXPECT_NE(out.find("invalid_request"), std::string::npos) << out;
  }
  // Two Transfer-Encoding lines are one list: "chunked" then "identity".
  const std::string two =
      raw("POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
          "identity\r\n\r\n" +
          smuggled);
  EXPECT_EQ(two.rfind("HTTP/1.1 400", 0), 0u) << two;
  EXPECT_EQ(two.find("HTTP/1.1", 1), std::string::npos) << two;
}

TEST_F(HttpServerTest, ContentLengthWithTransferEncodingIs400AndCloses) {
  const std::string out =
      raw("POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
          "chunked\r\n\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
}

TEST_F(HttpServerTest, ChunkedBodyIsStillRead) {
  const std::string out =
      raw("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: "
          "close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("POST /c -  3"), std::string::npos) << out;
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  HttpClient c("127.0.0.1", server_->port());
  auto r = c.request("GET", "/throw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("\"code\":\"internal\""), std::string::npos);
  EXPECT_EQ(c.request("GET", "/ok")->status, 200);
}

// response_headers go on every answer, the server's own refusals included.
TEST(HttpServer, ResponseHeadersGoOnEveryAnswer) {
  HttpServerOptions o;
  o.response_headers = {{"X-Ithaca-Dev-Only", "true"}};
  HttpServer server(o, [](HttpRequest, Respond respond) { respond(HttpResponse{}); });
  ASSERT_TRUE(server.start().ok());
  namespace asio = boost::asio;
  for (const std::string request :
       {"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GARBAGE\r\n\r\n"}) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    asio::write(s, asio::buffer(request));
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (size_t n; (n = s.read_some(asio::buffer(buf), ec)) > 0 || !ec;) out.append(buf, n);
    EXPECT_NE(out.find("X-Ithaca-Dev-Only: true"), std::string::npos) << out;
  }
}

TEST(HttpServer, CannotBindTwice) {
  auto ok = [](HttpRequest, Respond respond) { respond(HttpResponse{}); };
  HttpServer a({}, ok);
  ASSERT_TRUE(a.start().ok());
  HttpServerOptions o;
  o.port = a.port();
  HttpServer b(o, ok);
  auto s = b.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::config_invalid);
}

TEST(ErrorResponse, CarriesCatalogRowAndRetryAfter) {
  auto r = error_response(make_error(ErrorCode::RATE_LIMITED, "", {{"retry_after_seconds", 3}}));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.at(0).second, "3");
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["detail"]["code"], "RATE_LIMITED");
  EXPECT_EQ(body["detail"]["details"]["retry_after_seconds"], 3);
  EXPECT_TRUE(body["detail"]["retryable"]);
  EXPECT_FALSE(body["detail"]["action"].get<std::string>().empty());
}

// An error's text is our own output: bytes that are not UTF-8 in it (a path, a header quoted
// back) are replaced, never a throw from dump().
TEST(ErrorResponse, TextThatIsNotUtf8IsReplacedNotThrown) {
  HttpResponse r;
  ASSERT_NO_THROW(r = error_response(make_error(ErrorCode::not_found, "no \xff\xfe here",
                                                {{"id", "ses_\xc3\x28"}})));
  EXPECT_EQ(r.status, 404);
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["detail"]["message"], "no \xef\xbf\xbd\xef\xbf\xbd here");
}

// spec/vectors/http_errors.json: every answer of a case with `server`, as the server writes it,
// byte for byte (the SDKs decode the same bodies in their tests).
TEST(ErrorResponse, MatchesSharedVectors) {
  std::ifstream in(std::string(ITHACA_SOURCE_DIR) + "/spec/vectors/http_errors.json");
  ASSERT_TRUE(in.good()) << "spec/vectors/http_errors.json";
  const auto doc = nlohmann::json::parse(in);
  int written = 0;
  for (const auto& c : doc["cases"]) {
    if (!c.contains("server")) continue;
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto& s = c["server"];
    ErrorCode code;
    ASSERT_TRUE(parse_error_code(s["code"].get<std::string>(), code));
    const auto r = error_response(make_error(code, s["message"].get<std::string>(), s["details"]));
    const auto& want = c["response"];
    EXPECT_EQ(r.status, want["status"].get<int>());
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : want["headers"].items()) {
      headers.emplace_back(name, value.get<std::string>());
    }
    EXPECT_EQ(r.headers, headers);
    EXPECT_EQ(r.body, want["body"].get<std::string>());
    ++written;
  }
  EXPECT_GE(written, 5);
}

}  // namespace
}  // namespace ithaca::net
