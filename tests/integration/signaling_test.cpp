// Signaling over real sockets (docs/streaming.md sections 1 and 2): an in-process node, a fake
// streamer made of a blocking WebSocketClient that registers and answers like `ithaca streamer`
// would, and clients holding minted credentials. Every refusal is checked for its reason and
// its close code, every ending for what it does to the session and its slot.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <thread>

#include "ithaca/config/signing_keys.hpp"
#include "ithaca/net/websocket.hpp"
#include "test_node.hpp"

namespace ithaca::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Reads one JSON message; null when the connection ended (then close_code() says how).
json read_json(net::WebSocketClient& ws, std::chrono::milliseconds timeout = 5s) {
  auto text = ws.read_text(timeout);
  if (!text) return json();
  return json::parse(*text, nullptr, false);
}

// The fake streamer: registers, then speaks the streamer link by hand.
class FakeStreamer {
 public:
  Status connect(uint16_t port, const std::string& secret, const std::string& id,
                 int capacity = 4) {
    net::WebSocketHeaders headers;
    if (!secret.empty()) headers.emplace_back("Authorization", "Bearer " + secret);
    if (auto s = ws.connect("127.0.0.1", port, "/signaling/streamer", std::nullopt, 5s, headers);
        !s) {
      return s;
    }
    if (auto s = send({{"type", "register"},
                       {"streamer_id", id},
                       {"capacity", capacity},
                       {"capabilities", {{"image_to_video", false}}},
                       {"version", "test"}});
        !s) {
      return s;
    }
    registered = read();
    if (registered["type"] != "registered") {
      return make_error(ErrorCode::internal, "not registered: " + registered.dump());
    }
    return ok_status();
  }
  Status send(const json& m) { return ws.send_text(m.dump()); }
  json read(std::chrono::milliseconds timeout = 5s) { return read_json(ws, timeout); }
  // Sends the client of `session_id` a message through the server.
  Status signal(const std::string& session_id, const json& message) {
    return send({{"type", "signal"}, {"session_id", session_id}, {"message", message}});
  }

  net::WebSocketClient ws;
  json registered;
};

std::string header(const net::HttpResponse& r, std::string name) {
  for (const auto& [k, v] : r.headers) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) return v;
  }
  return "<none>";
}

class SignalingTest : public ::testing::Test {
 protected:
  // Starts the node; tests that need other settings call it first themselves.
  void start(std::function<void(config::Config&)> tweak = {}) {
    node_ = std::make_unique<TestNode>(std::move(tweak));
    key_ = node_->create_key("acme", 5);
  }
  TestNode& node() {
    if (!node_) start();
    return *node_;
  }
  uint16_t port() { return node().port(); }

  // Registers the fake streamer (the only one, so every mint lands there).
  void connect_streamer(const std::string& id = "str_fake") {
    ASSERT_TRUE(streamer_.connect(port(), node().server().streamer_secret(), id).ok());
  }

  struct Credentials {
    std::string session_id;
    std::string token;
  };
  Credentials mint() {
    auto r = node().call("POST", "/v1/client_credentials", key_);
    EXPECT_EQ(r.status, 201) << r.raw;
    return {r.body.value("session_id", ""), r.body.value("session_token", "")};
  }

  Status connect(net::WebSocketClient& ws, const std::string& session_id,
                 const std::string& token) {
    return ws.connect("127.0.0.1", port(), "/signaling/client/" + session_id + "?token=" + token);
  }

  // Connects and waits for the streamer to hear of it; the session_open message.
  json connect_and_open(net::WebSocketClient& ws, const Credentials& c) {
    EXPECT_TRUE(connect(ws, c.session_id, c.token).ok());
    json open = streamer_.read();
    EXPECT_EQ(open["type"], "session_open") << open.dump();
    EXPECT_EQ(open["session_id"], c.session_id);
    return open;
  }

  // A refusal: one error message with `reason`, then the close code of that reason.
  void expect_refused(net::WebSocketClient& ws, const std::string& reason, int close_code) {
    const json error = read_json(ws);
    EXPECT_EQ(error["type"], "error") << error.dump();
    EXPECT_EQ(error["reason"], reason) << error.dump();
    EXPECT_TRUE(error.contains("message") && error.contains("retryable")) << error.dump();
    EXPECT_TRUE(read_json(ws).is_null());
    EXPECT_EQ(ws.close_code(), close_code) << reason;
  }

  json get_session(const std::string& id) {
    return node().call("GET", "/v1/sessions/" + id, key_).body;
  }
  // Waits for a store change made on the hub's workers (a drop, a clean end).
  std::string wait_state(const std::string& id, const std::string& state) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::string now;
    while ((now = get_session(id).value("state", "")) != state &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    return now;
  }
  int active_count() { return node().call("GET", "/v1/usage", key_).body["active_count"]; }

  std::unique_ptr<TestNode> node_;
  std::string key_;
  // Declared after the node: they close before it stops.
  FakeStreamer streamer_;
};

TEST_F(SignalingTest, RelaysBothWaysAndACleanDisconnectFreesTheSlot) {
  connect_streamer();
  EXPECT_EQ(streamer_.registered["streamer_id"], "str_fake");
  EXPECT_EQ(streamer_.registered["max_stream_seconds"], 0);
  const auto c = mint();
  EXPECT_EQ(active_count(), 1);
  net::WebSocketClient client;
  const json open = connect_and_open(client, c);
  EXPECT_EQ(open["resumed"], false);
  EXPECT_EQ(get_session(c.session_id)["state"], "connected");

  // The streamer offers; the client answers; candidates both ways.
  const json offer = {{"type", "offer"}, {"sdp", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}};
  ASSERT_TRUE(streamer_.signal(c.session_id, offer).ok());
  EXPECT_EQ(read_json(client), offer);
  const json candidate = {{"type", "ice_candidate"},
                          {"candidate", "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"},
                          {"sdpMid", "0"},
                          {"sdpMLineIndex", 0}};
  ASSERT_TRUE(streamer_.signal(c.session_id, candidate).ok());
  EXPECT_EQ(read_json(client), candidate);

  ASSERT_TRUE(client.send_text(R"({"type":"keepalive"})").ok());  // consumed, not relayed
  const json answer = {{"type", "answer"}, {"sdp", "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\n"}};
  ASSERT_TRUE(client.send_text(answer.dump()).ok());
  json relayed = streamer_.read();
  EXPECT_EQ(relayed, json({{"type", "signal"}, {"session_id", c.session_id}, {"message", answer}}));
  ASSERT_TRUE(client.send_text(candidate.dump()).ok());
  EXPECT_EQ(streamer_.read()["message"], candidate);

  // A start image over signaling: far above 64 KiB, allowed for this type only.
  const json start = {
      {"type", "interactive_stream_start"},
      {"prompt", "a lighthouse"},
      {"portrait", false},
      {"input_image_base64", "data:image/png;base64," + std::string(3 * 1024 * 1024, 'A')}};
  ASSERT_TRUE(client.send_text(start.dump()).ok());
  relayed = streamer_.read();
  EXPECT_EQ(relayed["message"], start);

  const std::string metrics = node().call("GET", "/metrics").raw;
  for (const char* want :
       {"ithaca_signaling_clients 1", "ithaca_signaling_streamers 1",
        "ithaca_signaling_messages_relayed_total{direction=\"client_to_streamer\"} 3",
        "ithaca_signaling_messages_relayed_total{direction=\"streamer_to_client\"} 2"}) {
    EXPECT_NE(metrics.find(want), std::string::npos) << want;
  }

  ASSERT_TRUE(client.send_text(R"({"type":"client_disconnecting"})").ok());
  ASSERT_TRUE(client.close(net::ws_close::normal).ok());
  EXPECT_EQ(streamer_.read(), json({{"type", "session_close"},
                                    {"session_id", c.session_id},
                                    {"reason", "client_disconnect"}}));
  EXPECT_EQ(wait_state(c.session_id, "ended"), "ended");
  EXPECT_EQ(get_session(c.session_id)["end_cause"], "client_disconnect");
  EXPECT_EQ(active_count(), 0);
}

TEST_F(SignalingTest, TokenRefusalsSayWhyAndNeverReachTheStreamer) {
  connect_streamer();
  const auto a = mint();
  const auto b = mint();

  // A token crafted with the node's own keys, to control its claims.
  config::Config c;
  c.data_dir = node().data_dir();
  const auto keys = *config::load_key_ring(c);
  auth::TokenClaims claims;
  claims.session_id = a.session_id;
  claims.account = "acme";
  claims.audience = "ithaca";
  claims.jti = "whatever";
  const int64_t now = to_unix_seconds(SystemClock::instance().now());
  claims.issued_at = now - 1000;
  claims.expires_at = now - 100;
  const std::string expired = keys->sign(claims);
  claims.expires_at = now + 600;
  claims.role = auth::Role::spectator;
  const std::string spectator = keys->sign(claims);

  std::string forged = a.token;
  const size_t sig = forged.rfind('.') + 5;
  forged[sig] = forged[sig] == 'A' ? 'B' : 'A';

  struct Case {
    std::string name, session_id, token, reason;
    int close_code;
  };
  const std::vector<Case> cases = {
      {"expired", a.session_id, expired, "token_expired", 4401},
      {"forged", a.session_id, forged, "token_bad_signature", 4401},
      {"garbage", a.session_id, "not-a-jwt", "token_malformed", 4401},
      {"none", a.session_id, "", "token_malformed", 4401},
      {"wrong role", a.session_id, spectator, "token_wrong_role", 4403},
      {"wrong session", b.session_id, a.token, "token_wrong_session", 4403},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    net::WebSocketClient ws;
    ASSERT_TRUE(connect(ws, k.session_id, k.token).ok());
    expect_refused(ws, k.reason, k.close_code);
  }
  EXPECT_EQ(get_session(a.session_id)["state"], "provisioned");

  // An ended session.
  ASSERT_EQ(node().call("DELETE", "/v1/sessions/" + b.session_id, key_).status, 200);
  {
    net::WebSocketClient ws;
    ASSERT_TRUE(connect(ws, b.session_id, b.token).ok());
    expect_refused(ws, "session_ended", 4409);
  }
  // Nothing refused reached the streamer: its next message is the first real connect.
  net::WebSocketClient ok;
  const json open = connect_and_open(ok, a);
  EXPECT_EQ(open["resumed"], false);
}

TEST_F(SignalingTest, PathsThatDoNotMatchAre404BeforeTheUpgrade) {
  for (const std::string target : {"/signaling/client/a/b", "/signaling/client/", "/signaling/x",
                                   "/signaling/client/a%2Fb?token=x"}) {
    net::WebSocketClient ws;
    EXPECT_FALSE(ws.connect("127.0.0.1", port(), target).ok()) << target;
    EXPECT_EQ(ws.handshake_response().status, 404) << target;
  }
}

TEST_F(SignalingTest, TokenInASubprotocolIsEchoed) {
  connect_streamer();
  const auto c = mint();
  net::WebSocketClient ws;
  const std::string protocol = "ithaca.token." + c.token;
  ASSERT_TRUE(ws.connect("127.0.0.1", port(), "/signaling/client/" + c.session_id, protocol).ok());
  EXPECT_EQ(header(ws.handshake_response(), "sec-websocket-protocol"), protocol);
  EXPECT_EQ(streamer_.read()["type"], "session_open");
  ASSERT_TRUE(streamer_.signal(c.session_id, {{"type", "offer"}, {"sdp", "v=0"}}).ok());
  EXPECT_EQ(read_json(ws)["type"], "offer");
}

TEST_F(SignalingTest, ASecondClientIsRefusedWhileTheFirstStays) {
  connect_streamer();
  const auto c = mint();
  net::WebSocketClient first;
  connect_and_open(first, c);
  net::WebSocketClient second;
  ASSERT_TRUE(connect(second, c.session_id, c.token).ok());
  expect_refused(second, "session_already_connected", 4409);
  // The first is untouched.
  ASSERT_TRUE(first.send_text(R"({"type":"answer","sdp":"v=0"})").ok());
  EXPECT_EQ(streamer_.read()["message"]["type"], "answer");
  EXPECT_EQ(get_session(c.session_id)["state"], "connected");
}

TEST_F(SignalingTest, AnUncleanDropIsResumableWithTheSameToken) {
  connect_streamer();
  const auto c = mint();
  {
    net::WebSocketClient ws;
    connect_and_open(ws, c);
    ws.drop();  // transport loss: no close frame
  }
  EXPECT_EQ(streamer_.read(), json({{"type", "session_close"},
                                    {"session_id", c.session_id},
                                    {"reason", "client_dropped"}}));
  EXPECT_EQ(wait_state(c.session_id, "dropped"), "dropped");
  EXPECT_EQ(active_count(), 1);  // the slot stays held while it is resumable
  {
    // A clean close code without client_disconnecting is still a drop.
    net::WebSocketClient ws;
    EXPECT_EQ(connect_and_open(ws, c)["resumed"], true);
    ASSERT_TRUE(ws.close(net::ws_close::normal).ok());
  }
  EXPECT_EQ(streamer_.read()["reason"], "client_dropped");
  EXPECT_EQ(wait_state(c.session_id, "dropped"), "dropped");
  net::WebSocketClient ws;
  EXPECT_EQ(connect_and_open(ws, c)["resumed"], true);
  ASSERT_TRUE(streamer_.signal(c.session_id, {{"type", "offer"}, {"sdp", "v=0 again"}}).ok());
  EXPECT_EQ(read_json(ws)["sdp"], "v=0 again");
}

TEST_F(SignalingTest, LosingTheStreamerEndsItsSessionsAndTellsTheClients) {
  connect_streamer();
  const auto c = mint();
  const auto idle = mint();  // placed there, never connected
  net::WebSocketClient ws;
  connect_and_open(ws, c);
  streamer_.ws.drop();
  expect_refused(ws, "streamer_disconnected", 4502);
  EXPECT_EQ(wait_state(c.session_id, "ended"), "ended");
  EXPECT_EQ(get_session(c.session_id)["end_cause"], "streamer_disconnected");
  EXPECT_EQ(wait_state(idle.session_id, "ended"), "ended");
  EXPECT_EQ(active_count(), 0);
  // Nothing more is placed there...
  auto r = node().call("POST", "/v1/client_credentials", key_);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["detail"]["code"], "no_streamer_available");
  // ...until it registers again.
  FakeStreamer again;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  Status registered = make_error(ErrorCode::internal);
  while (!(registered = again.connect(port(), node().server().streamer_secret(), "str_fake")) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // the old link's clean-up may still hold the id
  }
  ASSERT_TRUE(registered.ok()) << registered.error().to_string();
  EXPECT_EQ(node().call("POST", "/v1/client_credentials", key_).status, 201);
}

TEST_F(SignalingTest, StreamerLinkNeedsTheSecretAndAUniqueId) {
  for (const std::string secret : {std::string(), std::string("wrong-secret-0123456789")}) {
    net::WebSocketClient ws;
    net::WebSocketHeaders headers;
    if (!secret.empty()) headers.emplace_back("Authorization", "Bearer " + secret);
    EXPECT_FALSE(
        ws.connect("127.0.0.1", port(), "/signaling/streamer", std::nullopt, 5s, headers).ok());
    EXPECT_EQ(ws.handshake_response().status, 401);
    EXPECT_EQ(json::parse(ws.handshake_response().body)["detail"]["code"], "streamer_unauthorized");
  }
  connect_streamer("str_fake");
  FakeStreamer duplicate;
  EXPECT_FALSE(duplicate.connect(port(), node().server().streamer_secret(), "str_fake").ok());
  EXPECT_EQ(duplicate.ws.close_code(), 4409);

  net::WebSocketClient early;
  ASSERT_TRUE(early
                  .connect("127.0.0.1", port(), "/signaling/streamer", std::nullopt, 5s,
                           {{"Authorization", "Bearer " + node().server().streamer_secret()}})
                  .ok());
  ASSERT_TRUE(early.send_text(R"({"type":"signal","session_id":"x","message":{"type":"a"}})").ok());
  EXPECT_TRUE(read_json(early).is_null());
  EXPECT_EQ(early.close_code(), 4400);
  // The secret persists in data_dir with mode 0600.
  const auto path = std::filesystem::path(node().data_dir()) / "streamer.secret";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// Wrong streamer secrets are throttled per address like API keys (and their warnings sampled).
TEST(StreamerLinkThrottle, WrongSecretsPastTheLimitAre429) {
  TestNode node([](config::Config& c) { c.max_failures_per_address = 3; });
  auto attempt = [&](const std::string& secret) {
    net::WebSocketClient ws;
    (void)ws.connect("127.0.0.1", node.port(), "/signaling/streamer", std::nullopt, 5s,
                     {{"Authorization", "Bearer " + secret}});
    return ws.handshake_response();
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt("wrong-secret-0123456789").status, 401) << i;
  for (const std::string secret :
       {std::string("wrong-secret-0123456789"), node.server().streamer_secret()}) {
    const auto r = attempt(secret);
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(json::parse(r.body)["detail"]["code"], "RATE_LIMITED");
  }
}

TEST(StreamerSecret, GeneratedOnceThenReusedUnlessConfigured) {
  TempDir dir;
  auto in_dir = [&](config::Config& c) { c.data_dir = dir.path(); };
  std::string first;
  {
    TestNode node(in_dir);
    first = node.server().streamer_secret();
    EXPECT_GE(first.size(), 32u);
  }
  {
    TestNode node(in_dir);
    EXPECT_EQ(node.server().streamer_secret(), first);
  }
  {
    TestNode node([&](config::Config& c) {
      in_dir(c);
      c.streamer_secret = "configured-secret-0123456789";
    });
    EXPECT_EQ(node.server().streamer_secret(), "configured-secret-0123456789");
    FakeStreamer s;
    EXPECT_TRUE(s.connect(node.port(), "configured-secret-0123456789", "str_1").ok());
  }
  EXPECT_THROW(TestNode([&](config::Config& c) {
                 in_dir(c);
                 c.streamer_secret = "short";
               }),
               std::runtime_error);
}

TEST_F(SignalingTest, NoConnectedStreamerIsRetryableWithTheSameToken) {
  // A placement without a link: the streamer is known (e.g. after a restart) but not here.
  ASSERT_TRUE(node().server().add_streamer({"str_ghost", 4, {}}).ok());
  const auto c = mint();
  {
    net::WebSocketClient ws;
    ASSERT_TRUE(connect(ws, c.session_id, c.token).ok());
    expect_refused(ws, "streamer_not_available", 4503);
  }
  EXPECT_EQ(wait_state(c.session_id, "dropped"), "dropped");
  connect_streamer("str_ghost");
  net::WebSocketClient ws;
  EXPECT_EQ(connect_and_open(ws, c)["resumed"], true);
}

TEST_F(SignalingTest, OperatorDeleteClosesTheClient) {
  connect_streamer();
  const auto c = mint();
  net::WebSocketClient ws;
  connect_and_open(ws, c);
  ASSERT_EQ(node().call("DELETE", "/v1/sessions/" + c.session_id, key_).status, 200);
  expect_refused(ws, "session_ended", 4409);
  EXPECT_EQ(streamer_.read(), json({{"type", "session_close"},
                                    {"session_id", c.session_id},
                                    {"reason", "operator_ended"}}));
  EXPECT_EQ(active_count(), 0);
}

TEST_F(SignalingTest, TheDurationCapEndsTheSession) {
  start([](config::Config& c) { c.max_connection_seconds = 1; });
  connect_streamer();
  const auto c = mint();
  net::WebSocketClient ws;
  connect_and_open(ws, c);
  const auto began = std::chrono::steady_clock::now();
  expect_refused(ws, "duration_limit_reached", 4408);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 900ms);
  EXPECT_EQ(get_session(c.session_id)["end_cause"], "duration_limit");
  EXPECT_EQ(streamer_.read()["reason"], "duration_limit");
  EXPECT_EQ(active_count(), 0);
}

TEST_F(SignalingTest, MalformedMessagesAreAnsweredAndTheSessionLives) {
  connect_streamer();
  const auto c = mint();
  net::WebSocketClient ws;
  connect_and_open(ws, c);
  for (const std::string bad :
       {std::string("not json"), std::string("{}"), std::string(R"({"type":"teleport"})"),
        std::string(R"({"type":"answer"})"),
        json({{"type", "answer"}, {"sdp", std::string(100 * 1024, 'x')}}).dump()}) {
    ASSERT_TRUE(ws.send_text(bad).ok());
    const json error = read_json(ws);
    EXPECT_EQ(error["type"], "error") << bad.substr(0, 40);
    EXPECT_EQ(error["reason"], "invalid_command") << bad.substr(0, 40);
  }
  ASSERT_TRUE(ws.send_text(R"({"type":"answer","sdp":"v=0"})").ok());
  EXPECT_EQ(streamer_.read()["message"]["sdp"], "v=0");
  EXPECT_EQ(get_session(c.session_id)["state"], "connected");
}

TEST_F(SignalingTest, ConfigAndCors) {
  start([](config::Config& c) {
    c.ice_servers = {"stun:stun.test:3478", "turn:turn.test:3478"};
    c.turn_username = "u";
    c.turn_credential = "p";
    c.cors_origins = {"https://app.test"};
  });
  net::HttpClient http("127.0.0.1", port());
  auto r = http.request("GET", "/signaling/config", "", {{"Origin", "https://app.test"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"iceServers":[
      {"urls":["stun:stun.test:3478"]},
      {"urls":["turn:turn.test:3478"],"username":"u","credential":"p"}]})"));
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "https://app.test");
  EXPECT_EQ(header(*r, "vary"), "Origin");

  // The same at the root, where WHEP clients look (the origin of a broadcast's webrtc_url).
  auto root = http.request("GET", "/config", "", {{"Origin", "https://app.test"}});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->status, 200);
  EXPECT_EQ(root->body, r->body);
  EXPECT_EQ(header(*root, "access-control-allow-origin"), "https://app.test");

  r = http.request("GET", "/signaling/config", "", {{"Origin", "https://evil.test"}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "<none>");

  r = http.request("OPTIONS", "/signaling/config", "",
                   {{"Origin", "https://app.test"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "https://app.test");
  EXPECT_EQ(header(*r, "access-control-allow-methods"), "GET, POST, DELETE, OPTIONS");
  r = http.request("OPTIONS", "/signaling/config", "", {{"Origin", "https://evil.test"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["detail"]["code"], "origin_not_allowed");

  EXPECT_EQ(http.request("GET", "/signaling/nope")->status, 404);
  EXPECT_EQ(http.request("GET", "/healthz")->status, 200);  // the API still answers the rest
}

// The official Odyssey SDK's connect() with a key calls the control-plane routes from the page.
TEST_F(SignalingTest, TheApiAnswersBrowsersUnderTheSameCorsPolicy) {
  start([](config::Config& c) { c.cors_origins = {"https://app.test"}; });
  net::HttpClient http("127.0.0.1", port());
  auto r = http.request("OPTIONS", "/auth/token", "",
                        {{"Origin", "https://app.test"},
                         {"Access-Control-Request-Method", "POST"},
                         {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "https://app.test");
  EXPECT_EQ(
      http.request("OPTIONS", "/sessions/request", "", {{"Origin", "https://app.test"}})->status,
      204);  // before authentication: a preflight carries no credentials
  // Answers, errors included, carry the header so the page can read them.
  r = http.request("POST", "/auth/token", R"({"api_key":"ith_nope"})",
                   {{"Origin", "https://app.test"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "https://app.test");
  r = http.request("GET", "/regions", "", {{"Origin", "https://evil.test"}});
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "<none>");
  EXPECT_EQ(http.request("OPTIONS", "/auth/token", "", {{"Origin", "https://evil.test"}})->status,
            403);
  // Without an Origin nothing changes.
  r = http.request("GET", "/healthz");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(header(*r, "vary"), "<none>");
}

TEST_F(SignalingTest, DevModeAllowsAnyOriginAndNoIceServersIsAnEmptyList) {
  start([](config::Config& c) { c.dev = true; });
  net::HttpClient http("127.0.0.1", port());
  auto r = http.request("GET", "/signaling/config", "", {{"Origin", "http://localhost:5173"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, R"({"iceServers":[]})");
  EXPECT_EQ(header(*r, "access-control-allow-origin"), "http://localhost:5173");
}

TEST_F(SignalingTest, StoppingTheServerTellsClients) {
  connect_streamer();
  const auto c = mint();
  net::WebSocketClient ws;
  connect_and_open(ws, c);
  json error, after;
  std::thread reader([&] {
    error = read_json(ws, 10s);
    after = read_json(ws, 10s);  // the close frame, answered at once
  });
  std::thread streamer_reader([&] {
    while (!streamer_.read(10s).is_null()) {
    }
  });
  node().server().stop();
  reader.join();
  streamer_reader.join();
  // The link closes too (a streamer tears its peers down when it loses the server).
  EXPECT_EQ(streamer_.ws.close_code(), 1001);
  EXPECT_EQ(error["reason"], "shutting_down");
  EXPECT_TRUE(after.is_null());
  EXPECT_EQ(ws.close_code(), 1001);
}

}  // namespace
}  // namespace ithaca::testing
