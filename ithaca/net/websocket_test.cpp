#include "ithaca/net/websocket.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ithaca/net/http_client.hpp"
#include "ithaca/net/http_server.hpp"

namespace ithaca::net {
namespace {

using namespace std::chrono_literals;

// What the server saw on one connection.
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<WebSocketConnection> connection;
  std::vector<std::string> texts;
  int close_calls = 0;
  int code = 0;
  std::string reason;
  bool clean = false;
  std::thread sender;  // for messages sent from another thread

  ~Events() {
    if (sender.joinable()) sender.join();
  }

  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 5s, [&] { return pred(); });
  }
  bool wait_closed() {
    return wait([this] { return close_calls > 0; });
  }
};

// Records what happens on one connection into Events (the dialer tests' client side).
class RecordingHandler : public WebSocketHandler {
 public:
  explicit RecordingHandler(std::shared_ptr<Events> events) : events_(std::move(events)) {}

  void on_open(std::shared_ptr<WebSocketConnection> connection) override {
    std::lock_guard lock(events_->mu);
    events_->connection = std::move(connection);
    events_->cv.notify_all();
  }

  void on_text(std::string message) override {
    std::lock_guard lock(events_->mu);
    events_->texts.push_back(std::move(message));
    events_->cv.notify_all();
  }

  void on_close(int code, std::string reason, bool clean) override {
    std::lock_guard lock(events_->mu);
    ++events_->close_calls;
    events_->code = code;
    events_->reason = std::move(reason);
    events_->clean = clean;
    events_->connection.reset();
    events_->cv.notify_all();
  }

 protected:
  std::shared_ptr<Events> events_;
};

// Records and echoes text; "close:<code>" makes the server close with that code, "burst:<n>"
// sends n numbered messages from another thread.
class EchoHandler : public RecordingHandler {
 public:
  using RecordingHandler::RecordingHandler;

  void on_text(std::string message) override {
    RecordingHandler::on_text(message);
    std::shared_ptr<WebSocketConnection> c;
    {
      std::lock_guard lock(events_->mu);
      c = events_->connection;
    }
    if (message.rfind("close:", 0) == 0) {
      c->close(std::stoi(message.substr(6)), "bye");
    } else if (message.rfind("burst:", 0) == 0) {
      const int n = std::stoi(message.substr(6));
      std::lock_guard lock(events_->mu);
      events_->sender = std::thread([c, n] {
        for (int i = 0; i < n; ++i) c->send_text(std::to_string(i));
      });
    } else {
      c->send_text(std::move(message));
    }
  }
};

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(WebSocketOptions ws) {
    HttpServerOptions o;
    o.threads = 2;
    ws.max_message_bytes = 1024;
    o.websocket = ws;
    o.websocket_acceptor = [this](const HttpRequest& r) -> WebSocketDecision {
      if (r.path == "/refuse") return error_response(make_error(ErrorCode::token_expired));
      auto events = std::make_shared<Events>();
      WebSocketAccept accept{std::make_shared<EchoHandler>(events), std::nullopt};
      const std::string_view offered = r.header("sec-websocket-protocol");
      if (!offered.empty()) accept.subprotocol = std::string(offered.substr(0, offered.find(',')));
      std::lock_guard lock(mu_);
      events_.push_back(std::move(events));
      last_path_ = r.path;
      last_authorization_ = std::string(r.header("authorization"));
      if (r.path == "/big") accept.max_message_bytes = 4096;
      last_token_ = r.query_param("token").value_or("");
      return accept;
    };
    server_ = std::make_unique<HttpServer>(o, [](HttpRequest r, Respond respond) {
      HttpResponse res;
      res.content_type = "text/plain";
      res.body = "plain " + r.path;
      respond(std::move(res));
    });
    ASSERT_TRUE(server_->start().ok());
  }

  void TearDown() override {
    server_.reset();
    events_.clear();  // joins the sender threads, after the server is gone
  }

  Status connect(WebSocketClient& c, const std::string& target = "/client/s1?token=t",
                 std::optional<std::string> subprotocol = std::nullopt) {
    return c.connect("127.0.0.1", server_->port(), target, std::move(subprotocol));
  }

  // A raw Beast client, for frames WebSocketClient never sends (binary, invalid UTF-8).
  using RawSocket = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  std::unique_ptr<RawSocket> raw_socket() {
    auto ws = std::make_unique<RawSocket>(raw_io_);
    boost::beast::get_lowest_layer(*ws).connect(
        {boost::asio::ip::make_address("127.0.0.1"), server_->port()});
    ws->handshake("127.0.0.1", "/client/s1");
    return ws;
  }

  std::shared_ptr<Events> events(size_t i) {
    std::lock_guard lock(mu_);
    return i < events_.size() ? events_[i] : nullptr;
  }

  boost::asio::io_context raw_io_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Events>> events_;
  std::string last_path_, last_token_, last_authorization_;
};

TEST_F(WebSocketTest, EchoRoundTrip) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  EXPECT_EQ(c.handshake_response().status, 101);
  for (const std::string m : {"hello", "{\"type\":\"ping\"}", ""}) {
    ASSERT_TRUE(c.send_text(m).ok());
    auto r = c.read_text();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(*r, m);
  }
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(last_path_, "/client/s1");
    EXPECT_EQ(last_token_, "t");
  }
  ASSERT_TRUE(c.close().ok());
  auto e = events(0);
  ASSERT_TRUE(e && e->wait_closed());
  EXPECT_EQ(e->texts.size(), 3u);
}

TEST_F(WebSocketTest, RefusalReturnsHttpStatusAndJsonBody) {
  WebSocketClient c;
  auto s = connect(c, "/refuse");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().details["status"], 401);
  EXPECT_EQ(c.handshake_response().status, 401);
  EXPECT_EQ(c.handshake_response().content_type, "application/json");
  EXPECT_NE(c.handshake_response().body.find("\"code\":\"token_expired\""), std::string::npos)
      << c.handshake_response().body;
  EXPECT_EQ(events(0), nullptr);
}

TEST_F(WebSocketTest, SubprotocolIsEchoed) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c, "/client/s1", "ithaca.v1, other").ok());
  EXPECT_EQ(c.handshake_response().status, 101);
  std::string echoed;
  for (const auto& [k, v] : c.handshake_response().headers) {
    if (k == "sec-websocket-protocol") echoed = v;
  }
  EXPECT_EQ(echoed, "ithaca.v1");
}

TEST_F(WebSocketTest, ServerCloseCodeReachesTheClient) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  ASSERT_TRUE(c.send_text("close:4401").ok());
  auto r = c.read_text();
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(c.close_code().has_value());
  EXPECT_EQ(*c.close_code(), 4401);
  EXPECT_EQ(c.close_reason(), "bye");
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, 4401);  // the client's echo
  EXPECT_FALSE(e->clean);
}

TEST_F(WebSocketTest, ClientClose1000IsClean) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  ASSERT_TRUE(c.close(1000, "done").ok());
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, 1000);
  EXPECT_EQ(e->reason, "done");
  EXPECT_TRUE(e->clean);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(e->close_calls, 1);
}

TEST_F(WebSocketTest, ClientCloseWithOtherCodeIsNotClean) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  ASSERT_TRUE(c.close(4000).ok());
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, 4000);
  EXPECT_FALSE(e->clean);
}

TEST_F(WebSocketTest, DroppedSocketIsUnclean) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  ASSERT_TRUE(events(0)->wait([&] { return events(0)->connection != nullptr; }));
  c.drop();
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, ws_close::abnormal);
  EXPECT_FALSE(e->clean);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(e->close_calls, 1);
}

TEST_F(WebSocketTest, OversizedMessageCloses1009) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  ASSERT_TRUE(c.send_text(std::string(2000, 'x')).ok());
  auto r = c.read_text();
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(c.close_code().has_value());
  EXPECT_EQ(*c.close_code(), ws_close::too_big);
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, ws_close::too_big);
  EXPECT_FALSE(e->clean);
  EXPECT_TRUE(e->texts.empty());
}

TEST_F(WebSocketTest, BinaryFrameCloses1003) {
  namespace beast = boost::beast;
  auto socket = raw_socket();
  auto& ws = *socket;
  ws.binary(true);
  ws.write(boost::asio::buffer(std::string("\x01\x02")));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, beast::websocket::error::closed);
  EXPECT_EQ(ws.reason().code, ws_close::unsupported_data);
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, ws_close::unsupported_data);
  EXPECT_FALSE(e->clean);
  EXPECT_TRUE(e->texts.empty());
}

// A text frame that is not UTF-8 never reaches a handler (which would put it into JSON): the
// connection closes 1007 (RFC 6455 8.1) and the server lives on.
TEST_F(WebSocketTest, TextThatIsNotUtf8Closes1007) {
  namespace beast = boost::beast;
  auto socket = raw_socket();
  auto& ws = *socket;
  ws.text(true);
  beast::error_code ec;
  ws.write(boost::asio::buffer(std::string("{\"type\":\"prompt\",\"text\":\"\xff\xfe\xc3\x28\"}")),
           ec);
  beast::flat_buffer buffer;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, beast::websocket::error::closed);
  EXPECT_EQ(ws.reason().code, 1007);  // invalid frame payload data
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_TRUE(e->texts.empty());
  WebSocketClient c;
  EXPECT_TRUE(connect(c).ok());
}

TEST_F(WebSocketTest, MessagesSentFromAnotherThreadArriveInOrder) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  constexpr int kCount = 1000;
  ASSERT_TRUE(c.send_text("burst:" + std::to_string(kCount)).ok());
  for (int i = 0; i < kCount; ++i) {
    auto r = c.read_text();
    ASSERT_TRUE(r.ok()) << i << " " << r.error().to_string();
    ASSERT_EQ(*r, std::to_string(i));
  }
  ASSERT_TRUE(c.close().ok());
}

TEST_F(WebSocketTest, TwentyConcurrentClients) {
  constexpr int kClients = 20, kMessages = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      WebSocketClient c;
      if (!connect(c).ok()) return;
      for (int i = 0; i < kMessages; ++i) {
        const std::string m = std::to_string(t) + "-" + std::to_string(i);
        if (!c.send_text(m).ok()) return;
        auto r = c.read_text();
        if (!r.ok() || *r != m) return;
      }
      if (c.close().ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
  for (int t = 0; t < kClients; ++t) {
    auto e = events(t);
    ASSERT_TRUE(e && e->wait_closed());
    EXPECT_TRUE(e->clean);
    EXPECT_EQ(e->texts.size(), static_cast<size_t>(kMessages));
  }
}

TEST_F(WebSocketTest, PlainHttpStillWorks) {
  WebSocketClient ws;
  ASSERT_TRUE(connect(ws).ok());
  HttpClient c("127.0.0.1", server_->port());
  auto r = c.request("GET", "/client/s1?token=t");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "plain /client/s1");
  ASSERT_TRUE(ws.send_text("still here").ok());
  auto m = ws.read_text();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, "still here");
}

TEST_F(WebSocketTest, SilentPeerHitsTheIdleTimeout) {
  server_.reset();
  WebSocketOptions o;
  o.idle_timeout = 300ms;
  start(o);
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  // The client never reads, so it never answers the server's ping.
  auto e = events(0);
  ASSERT_TRUE(e->wait_closed());
  EXPECT_EQ(e->code, ws_close::abnormal);
  EXPECT_EQ(e->reason, "idle timeout");
  EXPECT_FALSE(e->clean);
}

TEST_F(WebSocketTest, ServerStopReportsCloseOnce) {
  WebSocketClient c;
  ASSERT_TRUE(connect(c).ok());
  auto e = events(0);
  ASSERT_TRUE(e->wait([&] { return e->connection != nullptr; }));
  server_.reset();
  EXPECT_EQ(e->close_calls, 1);
  EXPECT_FALSE(e->clean);
}

TEST_F(WebSocketTest, AcceptMayRaiseTheMessageLimitOfOneConnection) {
  const std::string payload(3000, 'x');  // over the server's 1024, under /big's 4096
  WebSocketClient big;
  ASSERT_TRUE(connect(big, "/big").ok());
  ASSERT_TRUE(big.send_text(payload).ok());
  auto echoed = big.read_text();
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(echoed->size(), payload.size());
  WebSocketClient small;
  ASSERT_TRUE(connect(small, "/small").ok());
  ASSERT_TRUE(small.send_text(payload).ok());
  EXPECT_FALSE(small.read_text().ok());
  EXPECT_EQ(small.close_code(), ws_close::too_big);
}

TEST(WebSocketUrl, ParsesHostPortAndTarget) {
  auto u = parse_websocket_url("ws://127.0.0.1:8080/signaling/streamer");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/signaling/streamer");
  auto v6 = parse_websocket_url("ws://[::1]:9/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9);
  auto bare = parse_websocket_url("ws://example.com");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->target, "/");
  for (const char* bad : {"http://x:1/", "wss://x:1/", "ws://:1/", "ws://x:99999/", "ws://x:a/"}) {
    EXPECT_FALSE(parse_websocket_url(bad).ok()) << bad;
  }
}

TEST_F(WebSocketTest, DialerSendsHeadersExchangesMessagesAndCloses) {
  WebSocketDialer dialer;
  auto mine = std::make_shared<Events>();
  dialer.dial("ws://127.0.0.1:" + std::to_string(server_->port()) + "/link",
              {{"Authorization", "Bearer s3cret"}}, std::make_shared<RecordingHandler>(mine));
  ASSERT_TRUE(mine->wait([&] { return mine->connection != nullptr; }));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(last_path_, "/link");
    EXPECT_EQ(last_authorization_, "Bearer s3cret");
  }
  std::shared_ptr<WebSocketConnection> c;
  {
    std::lock_guard lock(mine->mu);
    c = mine->connection;
  }
  c->send_text("one");
  c->send_text("two");
  ASSERT_TRUE(mine->wait([&] { return mine->texts.size() == 2; }));
  EXPECT_EQ(mine->texts[0], "one");
  EXPECT_EQ(mine->texts[1], "two");
  c->close(ws_close::normal, "done");
  ASSERT_TRUE(mine->wait_closed());
  auto theirs = events(0);
  ASSERT_TRUE(theirs->wait_closed());
  EXPECT_TRUE(theirs->clean);
  EXPECT_EQ(theirs->code, ws_close::normal);
}

TEST(WebSocketDialerTest, ReportsAFailedConnectAsCloseWithoutOpen) {
  WebSocketDialer dialer;
  auto events = std::make_shared<Events>();
  // Port 1 on loopback: nothing listens there.
  dialer.dial("ws://127.0.0.1:1/x", {}, std::make_shared<RecordingHandler>(events));
  ASSERT_TRUE(events->wait_closed());
  EXPECT_EQ(events->code, ws_close::abnormal);
  EXPECT_FALSE(events->clean);
  EXPECT_EQ(events->connection, nullptr);
  auto bad = std::make_shared<Events>();
  dialer.dial("http://not-ws", {}, std::make_shared<RecordingHandler>(bad));
  ASSERT_TRUE(bad->wait_closed());
  EXPECT_EQ(bad->code, ws_close::abnormal);
}

}  // namespace
}  // namespace ithaca::net
