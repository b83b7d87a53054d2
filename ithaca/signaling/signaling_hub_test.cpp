// SignalingHub without a network: its HTTP answers and upgrade decisions, and the whole
// client/streamer flow driven through fake connections on a ManualClock and the memory store.
// tests/integration/signaling_test.cpp runs the same flows over real sockets.
#include "ithaca/signaling/signaling_hub.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "ithaca/signaling/messages.hpp"
#include "ithaca/store/memory/memory_store.hpp"

namespace ithaca::signaling {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string kSecret = "0123456789abcdef0123";

// Records what the hub sends on one connection.
class FakeConnection final : public net::WebSocketConnection {
 public:
  void send_text(std::string message) override {
    std::lock_guard lock(mu_);
    if (close_code_) return;
    sent_.push_back(std::move(message));
    cv_.notify_all();
  }
  void close(int code, std::string reason) override {
    std::lock_guard lock(mu_);
    if (close_code_) return;
    close_code_ = code;
    close_reason_ = std::move(reason);
    cv_.notify_all();
  }
  const std::string& remote_address() const override { return remote_; }

  // The n-th message sent (0-based), waiting for it.
  json message(size_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, 5s, [&] { return sent_.size() > n; })) return json();
    return json::parse(sent_[n]);
  }
  std::optional<int> wait_closed() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return close_code_.has_value(); });
    return close_code_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return sent_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> sent_;
  std::optional<int> close_code_;
  std::string close_reason_;
  std::string remote_ = "127.0.0.1:1";
};

struct Peer {
  std::shared_ptr<net::WebSocketHandler> handler;
  std::shared_ptr<FakeConnection> connection = std::make_shared<FakeConnection>();
};

class SignalingHubTest : public ::testing::Test {
 protected:
  SignalingHubTest() {
    keys_ = *auth::TokenKeyRing::create({"k1", std::string(32, 'k')});
    EXPECT_TRUE(store_.upsert_account({"acme", 5}));
    rules_.signaling_url = "ws://127.0.0.1:1/signaling";
    service_ = std::make_unique<session::SessionService>(store_, registry_, keys_, clock_, rules_,
                                                         session_metrics_);
    options_.streamer_secret = kSecret;
    options_.ice_servers = {"stun:stun.test:3478"};
    options_.cors_origins = {"https://app.test"};
    options_.max_connection = 60s;
    options_.max_stream_seconds = 30;
    options_.idle_timeout_seconds = 40;
    options_.tick = 5ms;
    options_.shutdown_grace = 100ms;
    hub_ = std::make_unique<SignalingHub>(
        options_, SignalingDeps{*service_, registry_, store_, keys_, clock_, metrics_});
  }

  ~SignalingHubTest() override { hub_.reset(); }

  static net::HttpRequest get(std::string path, std::string query = {},
                              std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest r;
    r.method = "GET";
    r.path = std::move(path);
    r.query = std::move(query);
    r.headers = std::move(headers);
    r.remote_address = "127.0.0.1:1";
    return r;
  }

  Peer streamer(const std::string& id = "str_a") {
    return linked({{"type", "register"},
                   {"streamer_id", id},
                   {"capacity", 4},
                   {"capabilities", {{"image_to_video", false}}}});
  }

  // A streamer link that sent `registration` and got `registered`.
  Peer linked(const json& registration) {
    auto decision =
        hub_->accept(get("/signaling/streamer", "", {{"authorization", "Bearer " + kSecret}}));
    Peer p;
    auto* accept = std::get_if<net::WebSocketAccept>(&decision);
    if (!accept) {
      ADD_FAILURE() << "streamer refused";
      return p;
    }
    p.handler = accept->handler;
    p.handler->on_open(p.connection);
    p.handler->on_text(registration.dump());
    EXPECT_EQ(p.connection->message(0)["type"], "registered");
    return p;
  }

  Peer client(const std::string& session_id, const std::string& token) {
    auto decision = hub_->accept(get("/signaling/client/" + session_id, "token=" + token));
    Peer p;
    p.handler = std::get<net::WebSocketAccept>(decision).handler;
    p.handler->on_open(p.connection);
    return p;
  }

  session::ClientCredentials mint() {
    auto c = service_->mint("acme", {});
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return *c;
  }

  session::SessionRecord session(const std::string& id) { return **store_.get_session(id); }

  ManualClock clock_;
  store::MemoryStore store_;
  session::LocalStreamerRegistry registry_;
  std::shared_ptr<const auth::TokenKeyRing> keys_;
  metrics::Registry metrics_;
  session::SessionMetrics session_metrics_{metrics_};
  session::SessionRules rules_;
  std::unique_ptr<session::SessionService> service_;
  SignalingOptions options_;
  std::unique_ptr<SignalingHub> hub_;
};

TEST_F(SignalingHubTest, HttpConfigCorsAndOtherPaths) {
  auto config = hub_->handle_http(get("/signaling/config", "", {{"origin", "https://app.test"}}));
  EXPECT_EQ(config.status, 200);
  EXPECT_EQ(json::parse(config.body),
            json::parse(R"({"iceServers":[{"urls":["stun:stun.test:3478"]}]})"));
  auto has = [](const net::HttpResponse& r, const std::string& k, const std::string& v) {
    for (const auto& h : r.headers) {
      if (h.first == k && h.second == v) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(config, "Access-Control-Allow-Origin", "https://app.test"));
  EXPECT_TRUE(has(config, "Vary", "Origin"));

  auto options = get("/signaling/config", "", {{"origin", "https://evil.test"}});
  options.method = "OPTIONS";
  EXPECT_EQ(hub_->handle_http(options).status, 403);

  auto post = get("/signaling/config");
  post.method = "POST";
  EXPECT_EQ(hub_->handle_http(post).status, 405);
  EXPECT_EQ(hub_->handle_http(get("/signaling/nope")).status, 404);
  EXPECT_EQ(hub_->handle_http(get("/signaling/client/ses_1")).status, 400);
}

TEST_F(SignalingHubTest, UpgradeDecisions) {
  auto refused = [&](const net::HttpRequest& r) {
    auto d = hub_->accept(r);
    auto* response = std::get_if<net::HttpResponse>(&d);
    return response ? response->status : 0;
  };
  EXPECT_EQ(refused(get("/signaling/streamer")), 401);
  EXPECT_EQ(refused(get("/signaling/streamer", "", {{"authorization", "Bearer wrong"}})), 401);
  EXPECT_EQ(refused(get("/signaling/nope")), 404);
  EXPECT_EQ(refused(get("/signaling/client/a/b")), 404);
  EXPECT_EQ(refused(get("/signaling/client/")), 404);

  auto streamer =
      hub_->accept(get("/signaling/streamer", "", {{"authorization", "Bearer " + kSecret}}));
  ASSERT_TRUE(std::holds_alternative<net::WebSocketAccept>(streamer));
  EXPECT_EQ(std::get<net::WebSocketAccept>(streamer).max_message_bytes, kMaxMessageBytes);

  auto client = hub_->accept(
      get("/signaling/client/ses_1", "", {{"sec-websocket-protocol", "ithaca.token.a.b.c"}}));
  ASSERT_TRUE(std::holds_alternative<net::WebSocketAccept>(client));
  EXPECT_EQ(std::get<net::WebSocketAccept>(client).subprotocol, "ithaca.token.a.b.c");
  EXPECT_EQ(std::get<net::WebSocketAccept>(client).max_message_bytes, kMaxMessageBytes);
  // Accepted handlers that never opened still report a close (a failed handshake).
  std::get<net::WebSocketAccept>(streamer).handler->on_close(1006, "handshake failed", false);
  std::get<net::WebSocketAccept>(client).handler->on_close(1006, "handshake failed", false);
}

TEST_F(SignalingHubTest, RelaysBothWaysAndACleanDisconnectEndsTheSession) {
  auto s = streamer();
  EXPECT_TRUE(hub_->streamer_connected("str_a"));
  const auto creds = mint();
  auto c = client(creds.session_id, creds.session_token);

  const json open = s.connection->message(1);
  EXPECT_EQ(open,
            json({{"type", "session_open"}, {"session_id", creds.session_id}, {"resumed", false}}));
  EXPECT_EQ(session(creds.session_id).state, session::SessionState::connected);

  s.handler->on_text(json({{"type", "signal"},
                           {"session_id", creds.session_id},
                           {"message", {{"type", "offer"}, {"sdp", "v=0 offer"}}}})
                         .dump());
  EXPECT_EQ(c.connection->message(0), json({{"type", "offer"}, {"sdp", "v=0 offer"}}));

  c.handler->on_text(R"({"type":"keepalive"})");
  c.handler->on_text(R"({"type":"answer","sdp":"v=0 answer"})");
  EXPECT_EQ(s.connection->message(2),
            json({{"type", "signal"},
                  {"session_id", creds.session_id},
                  {"message", {{"type", "answer"}, {"sdp", "v=0 answer"}}}}));
  c.handler->on_text(R"({"type":"what"})");
  EXPECT_EQ(c.connection->message(1)["reason"], "invalid_command");

  c.handler->on_text(R"({"type":"client_disconnecting"})");
  c.handler->on_close(1000, "", true);
  EXPECT_EQ(s.connection->message(3)["type"], "session_close");
  EXPECT_EQ(s.connection->message(3)["reason"], "client_disconnect");
  // The store write runs on the hub's workers.
  for (int i = 0; i < 500 && session(creds.session_id).live(); ++i)
    std::this_thread::sleep_for(2ms);
  EXPECT_EQ(session(creds.session_id).end_cause, session::EndCause::client_disconnect);
}

TEST_F(SignalingHubTest, EarlyMessagesWaitForTheOpenAndAnEarlyCleanExitEndsTheSession) {
  auto s = streamer();
  const auto a = mint();
  // Sent right after the upgrade, while the token is being checked: relayed after session_open.
  auto c = client(a.session_id, a.session_token);
  c.handler->on_text(R"({"type":"answer","sdp":"early"})");
  EXPECT_EQ(s.connection->message(1)["type"], "session_open");
  EXPECT_EQ(s.connection->message(2)["message"]["sdp"], "early");
  c.handler->on_close(1006, "", false);

  // client_disconnecting then 1000, whether or not verification finished: a clean end.
  const auto b = mint();
  auto quick = client(b.session_id, b.session_token);
  quick.handler->on_text(R"({"type":"client_disconnecting"})");
  quick.handler->on_close(1000, "", true);
  for (int i = 0; i < 500 && session(b.session_id).live(); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(session(b.session_id).end_cause, session::EndCause::client_disconnect);
}

TEST_F(SignalingHubTest, RefusalsAreAnErrorThenTheCloseCode) {
  auto s = streamer();
  const auto creds = mint();
  auto bad = client(creds.session_id, "not-a-token");
  EXPECT_EQ(bad.connection->message(0)["reason"], "token_malformed");
  EXPECT_EQ(bad.connection->wait_closed(), 4401);
  bad.handler->on_close(4401, "", false);

  auto c = client(creds.session_id, creds.session_token);
  EXPECT_EQ(s.connection->message(1)["type"], "session_open");
  auto second = client(creds.session_id, creds.session_token);
  EXPECT_EQ(second.connection->message(0)["reason"], "session_already_connected");
  EXPECT_EQ(second.connection->wait_closed(), 4409);
  second.handler->on_close(4409, "", false);
  EXPECT_EQ(s.connection->count(), 2u);  // nothing refused reaches the streamer
  c.handler->on_close(1006, "", false);
}

TEST_F(SignalingHubTest, SessionEndsReachTheConnectedClient) {
  auto s = streamer();
  const auto a = mint(), b = mint();
  auto ca = client(a.session_id, a.session_token);
  auto cb = client(b.session_id, b.session_token);
  s.connection->message(2);  // two session_open

  // Operator DELETE.
  ASSERT_TRUE(service_->end("acme", a.session_id).ok());
  EXPECT_EQ(ca.connection->message(0)["reason"], "session_ended");
  EXPECT_EQ(ca.connection->wait_closed(), 4409);
  ca.handler->on_close(4409, "", false);  // already reported: no drop follows
  EXPECT_EQ(s.connection->message(3), json({{"type", "session_close"},
                                            {"session_id", a.session_id},
                                            {"reason", "operator_ended"}}));

  // The duration cap, on the hub's clock.
  clock_.advance(61s);
  EXPECT_EQ(cb.connection->message(0)["reason"], "duration_limit_reached");
  EXPECT_EQ(cb.connection->wait_closed(), 4408);
  cb.handler->on_close(4408, "", false);
  EXPECT_EQ(session(b.session_id).end_cause, session::EndCause::duration_limit);
  EXPECT_EQ(s.connection->message(4)["reason"], "duration_limit");

  // The streamer link drops: its sessions end, its client hears why, the place is gone.
  const auto d = mint();
  auto cd = client(d.session_id, d.session_token);
  EXPECT_EQ(s.connection->message(5)["session_id"], d.session_id);
  s.handler->on_close(1006, "", false);
  EXPECT_EQ(cd.connection->message(0)["reason"], "streamer_disconnected");
  EXPECT_EQ(cd.connection->wait_closed(), 4502);
  cd.handler->on_close(4502, "", false);
  EXPECT_EQ(session(d.session_id).end_cause, session::EndCause::streamer_disconnected);
  EXPECT_TRUE(registry_.snapshot().empty());
}

TEST_F(SignalingHubTest, ModelStreamerRaisesItsCapacityAndIsPlacedOnByModel) {
  auto s = linked(json::parse(R"({"type":"register","streamer_id":"gpu","capacity":0,
      "model":{"name":"my-world","version":"1.0","max_sessions":2}})"));
  EXPECT_EQ(s.connection->message(0)["idle_timeout_seconds"], 40);
  auto snapshot = registry_.snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].info.model.name, "my-world");
  EXPECT_EQ(snapshot[0].info.model.max_sessions, 2);
  EXPECT_EQ(service_->mint("acme", {}, {}, "my-world").error().code,
            ErrorCode::no_streamer_available);
  EXPECT_EQ(service_->mint("acme", {}, {}, "other").error().code, ErrorCode::unknown_model);

  s.handler->on_text(R"({"type":"capacity","capacity":1,"degraded":false})");
  auto placed = service_->mint("acme", {}, {}, "my-world");
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  EXPECT_EQ(session(placed->session_id).model, "my-world");
  EXPECT_EQ(session(placed->session_id).streamer_id, "gpu");

  // Below its live sessions: nothing ends, nothing more is placed; degraded is recorded.
  s.handler->on_text(R"({"type":"capacity","capacity":0,"degraded":true})");
  EXPECT_TRUE(registry_.snapshot()[0].info.degraded);
  EXPECT_EQ(registry_.snapshot()[0].in_use, 1);
  EXPECT_TRUE(session(placed->session_id).live());
  EXPECT_EQ(service_->mint("acme", {}, {}, "my-world").error().code,
            ErrorCode::no_streamer_available);

  // An invalid capacity closes the link like any invalid link message.
  s.handler->on_text(R"({"type":"capacity","capacity":-3})");
  EXPECT_EQ(s.connection->wait_closed(), 4400);
  s.handler->on_close(4400, "", false);
}

TEST_F(SignalingHubTest, StreamerEndsAnIdleSessionOnlyIfItRunsThere) {
  auto s = streamer("str_a");
  auto other = streamer("str_b");
  registry_.set_capacity("str_b", 0, false);  // every mint goes to str_a
  const auto a = mint();
  auto ca = client(a.session_id, a.session_token);
  EXPECT_EQ(s.connection->message(1)["type"], "session_open");

  // Not placed on str_b: ignored.
  other.handler->on_text(
      json({{"type", "session_end"}, {"session_id", a.session_id}, {"reason", "idle_timeout"}})
          .dump());
  s.handler->on_text(
      R"({"type":"session_end","session_id":"ses_unknown","reason":"idle_timeout"})");
  s.handler->on_text(
      json({{"type", "session_end"}, {"session_id", a.session_id}, {"reason", "idle_timeout"}})
          .dump());
  const json error = ca.connection->message(0);
  EXPECT_EQ(error["type"], "error");
  EXPECT_EQ(error["reason"], "idle_timeout");
  EXPECT_EQ(ca.connection->wait_closed(), 4408);
  ca.handler->on_close(4408, "", false);
  EXPECT_EQ(session(a.session_id).end_cause, session::EndCause::idle_timeout);
  EXPECT_EQ(
      s.connection->message(2),
      json({{"type", "session_close"}, {"session_id", a.session_id}, {"reason", "idle_timeout"}}));
  EXPECT_EQ(registry_.snapshot()[0].in_use, 0);  // the place is free again
  EXPECT_EQ(other.connection->count(), 1u);      // str_b heard nothing
}

TEST_F(SignalingHubTest, StreamerLinkRules) {
  auto s = streamer("str_a");
  // A second link with the same id: 4409.
  auto d = hub_->accept(get("/signaling/streamer", "", {{"authorization", "Bearer " + kSecret}}));
  Peer dup{std::get<net::WebSocketAccept>(d).handler};
  dup.handler->on_open(dup.connection);
  dup.handler->on_text(R"({"type":"register","streamer_id":"str_a","capacity":1})");
  EXPECT_EQ(dup.connection->wait_closed(), 4409);
  dup.handler->on_close(4409, "", false);
  EXPECT_TRUE(hub_->streamer_connected("str_a"));  // the first one is untouched

  // Anything before register: 4400.
  auto e = hub_->accept(get("/signaling/streamer", "", {{"authorization", "Bearer " + kSecret}}));
  Peer early{std::get<net::WebSocketAccept>(e).handler};
  early.handler->on_open(early.connection);
  early.handler->on_text(R"({"type":"signal","session_id":"x","message":{"type":"offer"}})");
  EXPECT_EQ(early.connection->wait_closed(), 4400);
  early.handler->on_close(4400, "", false);

  // session_failed closes the client as an unclean drop: the same token may retry.
  const auto creds = mint();
  auto c = client(creds.session_id, creds.session_token);
  EXPECT_EQ(s.connection->message(1)["type"], "session_open");
  s.handler->on_text(json({{"type", "session_failed"},
                           {"session_id", creds.session_id},
                           {"reason", "capability_missing"},
                           {"message", "no encoder"}})
                         .dump());
  EXPECT_EQ(c.connection->message(0)["reason"], "capability_missing");
  EXPECT_EQ(c.connection->message(0)["message"], "no encoder");
  EXPECT_EQ(c.connection->wait_closed(), 4400);
  c.handler->on_close(4400, "", false);
  for (int i = 0; i < 500 && session(creds.session_id).state != session::SessionState::dropped;
       ++i) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(session(creds.session_id).state, session::SessionState::dropped);
  auto again = client(creds.session_id, creds.session_token);
  EXPECT_EQ(s.connection->message(2),
            json({{"type", "session_open"}, {"session_id", creds.session_id}, {"resumed", true}}));
  again.handler->on_close(1006, "", false);
}

TEST_F(SignalingHubTest, StopTellsClientsTheServerIsShuttingDown) {
  auto s = streamer();
  const auto creds = mint();
  auto c = client(creds.session_id, creds.session_token);
  EXPECT_EQ(s.connection->message(1)["type"], "session_open");
  std::thread closer([&] {
    EXPECT_EQ(c.connection->wait_closed(), 1001);
    c.handler->on_close(1001, "", false);
    EXPECT_EQ(s.connection->wait_closed(), 1001);
    s.handler->on_close(1001, "", false);
  });
  hub_->stop();
  closer.join();
  EXPECT_EQ(c.connection->message(0)["reason"], "shutting_down");
  // The client's drop was written before stop() returned; the streamer's session was not ended.
  EXPECT_EQ(session(creds.session_id).state, session::SessionState::dropped);
  // After stop, new upgrades are refused and late reports are ignored.
  auto d = hub_->accept(get("/signaling/client/" + creds.session_id, "token=x"));
  EXPECT_TRUE(std::holds_alternative<net::HttpResponse>(d));
}

}  // namespace
}  // namespace ithaca::signaling
