// The control plane over real HTTP on loopback: every route, the Odyssey-compatible routes,
// bad input of every kind, and the concurrency race, against a node with SQLite.
#include <gtest/gtest.h>

#include <barrier>
#include <random>
#include <thread>

#include "ithaca/api/authenticator.hpp"
#include "ithaca/auth/api_key.hpp"
#include "ithaca/base/encoding.hpp"
#include "test_node.hpp"

namespace ithaca::testing {
namespace {

nlohmann::json jwt_payload(const std::string& token) {
  const auto first = token.find('.'), second = token.find('.', first + 1);
  return nlohmann::json::parse(*base64url_decode(token.substr(first + 1, second - first - 1)));
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.server().add_streamer({"str_test", 100, {{"image_to_video", false}}}).ok());
    key_ = node_.create_key("acme", 3);
  }

  int active_count() { return node_.call("GET", "/v1/usage", key_).body["active_count"]; }

  TestNode node_;
  std::string key_;
};

TEST_F(HttpApiTest, HealthzAndUnknownRoutes) {
  EXPECT_EQ(node_.call("GET", "/healthz").status, 200);
  EXPECT_EQ(node_.call("GET", "/nope").body["detail"]["code"], "not_found");
  EXPECT_EQ(node_.call("POST", "/healthz").status, 405);
  EXPECT_EQ(node_.call("PUT", "/v1/client_credentials", key_).status, 405);
}

TEST_F(HttpApiTest, MintAnswersExactlyTheCredentialsObject) {
  auto r = node_.call("POST", "/v1/client_credentials", key_, R"({"metadata":{"user":"u1"}})");
  ASSERT_EQ(r.status, 201) << r.raw;
  std::vector<std::string> keys;
  const auto ordered = nlohmann::ordered_json::parse(r.raw);
  for (const auto& [k, v] : ordered.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"session_id", "signaling_url", "session_token",
                                            "expires_in", "capabilities"}));
  EXPECT_EQ(r.body["expires_in"], 600);
  EXPECT_EQ(r.body["signaling_url"],
            "ws://127.0.0.1:" + std::to_string(node_.port()) + "/signaling");
  EXPECT_EQ(r.body["capabilities"], nlohmann::json({{"image_to_video", false}}));
  const auto claims = jwt_payload(r.body["session_token"]);
  EXPECT_EQ(claims["session_id"], r.body["session_id"]);
  EXPECT_EQ(claims["role"], "player");
  EXPECT_EQ(claims["account"], "acme");

  const std::string id = r.body["session_id"];
  auto got = node_.call("GET", "/v1/sessions/" + id, key_);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["state"], "provisioned");
  EXPECT_EQ(got.body["metadata"]["user"], "u1");
  EXPECT_TRUE(got.body["connected_at"].is_null());
  auto list = node_.call("GET", "/v1/sessions", key_);
  ASSERT_EQ(list.body["sessions"].size(), 1u);
  EXPECT_EQ(active_count(), 1);
}

// RFC 6750 / RFC 9110 11.1: the auth scheme is case-insensitive, on every route (one parser
// serves the API, the streamer link and the WHEP/spectator routes).
TEST_F(HttpApiTest, TheBearerSchemeIsCaseInsensitive) {
  net::HttpClient c("127.0.0.1", node_.port());
  for (const std::string scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    SCOPED_TRACE(scheme);
    auto r = c.request("GET", "/v1/usage", "", {{"Authorization", scheme + " " + key_}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
  }
  auto basic = c.request("GET", "/v1/usage", "", {{"Authorization", "Basic " + key_}});
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->status, 401) << basic->body;
}

// Bytes that are not UTF-8, in a body, a header, a path or a query, are refused with a typed 4xx:
// none reaches nlohmann::json::dump() (which throws on them) and none makes a 500.
TEST_F(HttpApiTest, BytesThatAreNotUtf8AreNeverA500) {
  std::mt19937 rng(11);
  std::string junk(2000, '\0');
  for (auto& c : junk) c = static_cast<char>(rng() % 0x60 + 0xa0);  // no CR/LF, never UTF-8
  const std::string bad = "\xff\xfe\xc3\x28";
  net::HttpClient c("127.0.0.1", node_.port());
  auto check = [&](const std::string& method, const std::string& target, const std::string& body,
                   std::vector<std::pair<std::string, std::string>> headers) {
    SCOPED_TRACE(method + " " + target);
    auto r = c.request(method, target, body, std::move(headers));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_GE(r->status, 400) << r->body;
    EXPECT_LT(r->status, 500) << r->body;
    const auto doc = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_TRUE(doc.is_object() && doc["detail"]["code"].is_string()) << r->body;
  };
  const std::pair<std::string, std::string> auth{"Authorization", "Bearer " + key_};
  const std::pair<std::string, std::string> json_type{"Content-Type", "application/json"};
  for (const std::string& body :
       {junk, R"({"metadata":{"user":")" + bad + R"("}})", R"({"api_key":")" + bad + R"("})",
        R"({"session_id":")" + bad + R"("})"}) {
    check("POST", "/v1/client_credentials", body, {auth, json_type});
    check("POST", "/auth/token", body, {json_type});
    check("POST", "/sessions/request", body, {auth, json_type});
    check("POST", "/sessions/token", body, {auth, json_type});
  }
  check("GET", "/v1/sessions/ses_" + bad, "", {auth});
  check("DELETE", "/v1/sessions/ses_" + bad, "", {auth});
  check("POST", "/v1/sessions/ses_" + bad + "/spectator_tokens", "", {auth});
  check("GET", "/v1/usage", "", {{"Authorization", "Bearer " + bad}});
  check("GET", "/v1/usage", "", {{"Authorization", "Bearer ith_" + bad + "_" + bad}});
  check("GET", "/v1/usage", "", {{"Authorization", "Bearer " + junk.substr(0, 500)}});
  check("POST", "/v1/client_credentials", "{}", {auth, {"Content-Type", bad}});
  check("GET", "/signaling/client/ses_" + bad, "", {});
  check("GET", "/signaling/client/ses_x?token=%ff%fe%c3%28", "", {});
  check("POST", "/broadcast/st_" + bad + "/whep?token=%ff%fe", junk,
        {{"Content-Type", "application/sdp"}});
  check("POST", "/broadcast/st_x/whep", junk,
        {{"Content-Type", "application/sdp"}, {"Authorization", "Bearer " + bad}});
  check("GET", "/" + bad, "", {{"Origin", "http://" + bad}});
  EXPECT_EQ(node_.call("GET", "/healthz").status, 200);
}

// Failed authentication is not free: past auth.max_failures_per_address failures in a window, an
// address is answered 429 RATE_LIMITED with Retry-After, unchecked, on /auth/token and /v1/*.
TEST(AuthThrottle, AnAddressPastTheFailureLimitIs429) {
  TestNode node([](config::Config& c) {
    c.max_failures_per_address = 5;
    c.max_failures_per_key = 0;
  });
  const std::string key = node.create_key("acme", 3);
  const std::string wrong = key.substr(0, key.size() - 4) + (key.back() == 'a' ? "bbbb" : "aaaa");
  net::HttpClient c("127.0.0.1", node.port());
  auto token = [&](const std::string& k) {
    return *c.request("POST", "/auth/token", nlohmann::json{{"api_key", k}}.dump(),
                      {{"Content-Type", "application/json"}});
  };
  EXPECT_EQ(token(key).status, 200);  // successes are not counted
  for (int i = 0; i < 3; ++i) EXPECT_EQ(token(wrong).status, 401) << i;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(c.request("GET", "/v1/usage", "", {{"Authorization", "Bearer " + wrong}})->status,
              401);
  }
  for (const auto& r : {token(wrong), token(key),
                        *c.request("GET", "/v1/usage", "", {{"Authorization", "Bearer ith_x_y"}}),
                        *c.request("POST", "/v1/client_credentials", "",
                                   {{"Authorization", "Bearer not.a.jwt"}})}) {
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(nlohmann::json::parse(r.body)["detail"]["code"], "RATE_LIMITED");
    std::string retry_after;
    for (const auto& [k, v] : r.headers) {
      if (k == "Retry-After") retry_after = v;
    }
    EXPECT_FALSE(retry_after.empty());
    EXPECT_LE(std::stoi(retry_after), 60);
  }
  const std::string metrics = node.call("GET", "/metrics").raw;
  EXPECT_NE(metrics.find("ithaca_auth_failures_total{outcome=\"refused\"} 5"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ithaca_auth_failures_total{outcome=\"throttled\"} 4"), std::string::npos)
      << metrics;
}

// Past auth.max_failures_per_key wrong secrets for one key id, wrong secrets for it are 429 while
// its right secret is still admitted.
TEST(AuthThrottle, WrongSecretsForOneKeyAreThrottledButTheRightOneIsNot) {
  TestNode node([](config::Config& c) {
    c.max_failures_per_address = 0;
    c.max_failures_per_key = 3;
  });
  const std::string key = node.create_key("acme", 3);
  const std::string wrong = key.substr(0, key.size() - 4) + (key.back() == 'a' ? "bbbb" : "aaaa");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(node.call("GET", "/v1/usage", wrong).status, 401) << i;
  const auto limited = node.call("GET", "/v1/usage", wrong);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body["detail"]["code"], "RATE_LIMITED");
  EXPECT_EQ(node.call("GET", "/v1/usage", key).status, 200);
}

// metrics.bearer_token (or its SHA-256, metrics.bearer_token_sha256) closes /metrics to anyone
// without it; unset, /metrics stays open.
TEST(MetricsToken, GuardsMetricsWhenSet) {
  const std::string token = "scrape-0123456789abcdef";
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant);
    TestNode node([&](config::Config& c) {
      if (variant == 0) {
        c.metrics_bearer_token = token;
      } else {
        c.metrics_bearer_token_sha256 = auth::hash_api_key_secret(token);
      }
    });
    net::HttpClient c("127.0.0.1", node.port());
    auto get = [&](std::vector<std::pair<std::string, std::string>> headers) {
      return *c.request("GET", "/metrics", "", std::move(headers));
    };
    EXPECT_EQ(get({}).status, 401);
    EXPECT_EQ(nlohmann::json::parse(get({}).body)["detail"]["code"], "missing_api_key");
    EXPECT_EQ(get({{"Authorization", "Bearer " + token + "x"}}).status, 401);
    EXPECT_EQ(get({{"Authorization", "Bearer " + token.substr(1)}}).status, 401);
    const auto ok = get({{"Authorization", "bearer " + token}});
    EXPECT_EQ(ok.status, 200);
    EXPECT_NE(ok.body.find("ithaca_http_responses_total"), std::string::npos);
  }
  TestNode open;
  EXPECT_EQ(open.call("GET", "/metrics").status, 200);
}

// `curl -d '{...}'` labels its body application/x-www-form-urlencoded: the README's first
// command must mint.
TEST_F(HttpApiTest, AJsonBodyUnderCurlsDefaultContentTypeMints) {
  net::HttpClient c("127.0.0.1", node_.port());
  auto r = c.request(
      "POST", "/v1/client_credentials", R"({"metadata":{"user":"alice"}})",
      {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 201) << r->body;
  const std::string id = nlohmann::json::parse(r->body)["session_id"];
  EXPECT_EQ(node_.call("GET", "/v1/sessions/" + id, key_).body["metadata"]["user"], "alice");
}

TEST_F(HttpApiTest, DeleteEndsTheSessionAndFreesTheSlot) {
  const std::string id = node_.call("POST", "/v1/client_credentials", key_).body["session_id"];
  const std::string other = node_.create_key("other", 3);
  EXPECT_EQ(node_.call("DELETE", "/v1/sessions/" + id, other).status, 404);
  auto ended = node_.call("DELETE", "/v1/sessions/" + id, key_);
  ASSERT_EQ(ended.status, 200);
  EXPECT_EQ(ended.body["state"], "ended");
  EXPECT_EQ(ended.body["end_cause"], "operator_ended");
  EXPECT_EQ(active_count(), 0);
  EXPECT_EQ(node_.call("DELETE", "/v1/sessions/" + id, key_).body["detail"]["code"],
            "session_ended");
  EXPECT_EQ(node_.call("GET", "/v1/sessions/" + id, key_).body["state"], "ended");
  EXPECT_EQ(node_.call("GET", "/v1/sessions", key_).body["sessions"].size(), 0u);
}

TEST_F(HttpApiTest, LimitAnswersTheOdyssey429Shape) {
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(node_.call("POST", "/v1/client_credentials", key_).status, 201);
  auto r = node_.call("POST", "/v1/client_credentials", key_);
  ASSERT_EQ(r.status, 429);
  EXPECT_EQ(r.body["detail"]["code"], "CONCURRENT_LIMIT_REACHED");
  EXPECT_EQ(r.body["detail"]["details"]["active_count"], 3);
  EXPECT_EQ(r.body["detail"]["details"]["limit"], 3);
  EXPECT_EQ(r.body["detail"]["retryable"], true);
  auto usage = node_.call("GET", "/v1/usage", key_).body;
  EXPECT_EQ(usage, nlohmann::json({{"account", "acme"}, {"active_count", 3}, {"limit", 3}}));
}

TEST_F(HttpApiTest, AuthenticationFailuresAreTyped) {
  auto code = [&](const std::string& key) {
    return node_.call("GET", "/v1/usage", key).body["detail"]["code"];
  };
  EXPECT_EQ(node_.call("GET", "/v1/usage").body["detail"]["code"], "missing_api_key");
  EXPECT_EQ(code("ith_short"), "invalid_api_key");
  std::string wrong = key_;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(code(wrong), "invalid_api_key");
  EXPECT_EQ(code("not.a.jwt"), "token_malformed");
  // Revoked elsewhere (as by the CLI): refused once the key cache's TTL has passed.
  const auto id = key_.substr(4, 16);
  ASSERT_TRUE(*node_.store().revoke_api_key(id, SystemClock::instance().now()));
  const auto deadline = std::chrono::steady_clock::now() + api::Authenticator::kKeyCacheTtl +
                        std::chrono::milliseconds(500);
  while (code(key_) != "api_key_revoked" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(code(key_), "api_key_revoked");
  EXPECT_EQ(node_.call("GET", "/v1/usage", key_).status, 401);
}

TEST_F(HttpApiTest, BadInputIsTypedAndWritesNothing) {
  auto code = [&](const std::string& body,
                  std::vector<std::pair<std::string, std::string>> h = {}) {
    net::HttpClient c("127.0.0.1", node_.port());
    h.emplace_back("Authorization", "Bearer " + key_);
    auto r = c.request("POST", "/v1/client_credentials", body, h);
    return std::make_pair(r->status, nlohmann::json::parse(r->body)["detail"]["code"]);
  };
  EXPECT_EQ(code("{nope"), std::make_pair(400, nlohmann::json("invalid_json")));
  EXPECT_EQ(code("[1,2]"), std::make_pair(400, nlohmann::json("invalid_request")));
  EXPECT_EQ(code(R"({"metadata":{"a":1}})"),
            std::make_pair(400, nlohmann::json("invalid_metadata")));
  EXPECT_EQ(code(R"({"metadata":[]})"), std::make_pair(400, nlohmann::json("invalid_metadata")));
  EXPECT_EQ(code(R"({"capabilities":{"image_to_video":"yes"}})"),
            std::make_pair(400, nlohmann::json("invalid_request")));
  EXPECT_EQ(code("x", {{"Content-Type", "text/plain"}}),
            std::make_pair(415, nlohmann::json("unsupported_media_type")));
  // What curl sends with -d and no header: read as JSON, and a real form body is not JSON.
  EXPECT_EQ(code("user=alice", {{"Content-Type", "application/x-www-form-urlencoded"}}),
            std::make_pair(400, nlohmann::json("invalid_json")));
  EXPECT_EQ(code(R"({"metadata":{"a":")" + std::string(70000, 'x') + "\"}}"),
            std::make_pair(413, nlohmann::json("request_too_large")));
  std::string many = R"({"metadata":{)";
  for (int i = 0; i < 20; ++i)
    many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  EXPECT_EQ(code(many + "}}"), std::make_pair(400, nlohmann::json("invalid_metadata")));
  EXPECT_EQ(code(R"({"unknown_field":1})").first, 201);  // unknown fields are ignored
  EXPECT_EQ(active_count(), 1);
  EXPECT_EQ(node_.call("GET", "/v1/sessions/" + std::string(100, 'x'), key_).status, 404);
}

TEST_F(HttpApiTest, NoStreamerIs503) {
  node_.server().registry().remove("str_test");
  auto r = node_.call("POST", "/v1/client_credentials", key_);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["detail"]["code"], "no_streamer_available");
  EXPECT_EQ(node_.call("POST", "/sessions/request", key_, "{}").status, 503);
  EXPECT_EQ(active_count(), 0);
}

TEST_F(HttpApiTest, MintsArePlacedOnTheRequestedModel) {
  session::StreamerInfo gpu{"str_gpu", 1, {{"image_to_video", true}}};
  gpu.model.name = "my-world";
  gpu.model.version = "1.0";
  gpu.model.params = R"({"seed":{"type":"integer"}})";
  gpu.version = "0.9";
  ASSERT_TRUE(node_.server().add_streamer(gpu).ok());

  auto r = node_.call("POST", "/v1/client_credentials", key_, R"({"model":"my-world"})");
  ASSERT_EQ(r.status, 201) << r.raw;
  // The credentials keep Odyssey's shape: no model in them.
  EXPECT_EQ(nlohmann::ordered_json::parse(r.raw).size(), 5u);
  const std::string id = r.body["session_id"];
  auto got = node_.call("GET", "/v1/sessions/" + id, key_);
  EXPECT_EQ(got.body["model"], "my-world");
  EXPECT_EQ(got.body["streamer_id"], "str_gpu");
  EXPECT_EQ(node_.call("GET", "/v1/sessions", key_).body["sessions"][0]["model"], "my-world");

  // Served, but full: 503; served by nobody: 400 unknown_model, naming it.
  r = node_.call("POST", "/v1/client_credentials", key_, R"({"model":"my-world"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["detail"]["code"], "no_streamer_available");
  r = node_.call("POST", "/v1/client_credentials", key_, R"({"model":"nobody-serves-this"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["detail"]["code"], "unknown_model");
  EXPECT_NE(r.body["detail"]["message"].get<std::string>().find("nobody-serves-this"),
            std::string::npos);
  EXPECT_EQ(node_.call("POST", "/v1/client_credentials", key_, R"({"model":7})").status, 400);
  // No model asked: any streamer, here the procedural one.
  r = node_.call("POST", "/v1/client_credentials", key_);
  ASSERT_EQ(r.status, 201) << r.raw;
  got = node_.call("GET", "/v1/sessions/" + r.body["session_id"].get<std::string>(), key_);
  EXPECT_EQ(got.body["model"], "procedural");
  EXPECT_EQ(active_count(), 2);

  auto models = node_.call("GET", "/v1/models", key_);
  ASSERT_EQ(models.status, 200) << models.raw;
  ASSERT_EQ(models.body["models"].size(), 2u);
  EXPECT_EQ(models.body["models"][0]["name"], "my-world");
  EXPECT_EQ(models.body["models"][0]["params"], nlohmann::json::parse(gpu.model.params));
  EXPECT_EQ(models.body["models"][0]["capacity"], 1);
  EXPECT_EQ(models.body["models"][0]["in_use"], 1);
  EXPECT_EQ(models.body["models"][0]["streamers"], 1);
  EXPECT_EQ(models.body["models"][1]["name"], "procedural");
  EXPECT_TRUE(models.body["default"].is_null());

  auto streamers = node_.call("GET", "/v1/streamers", key_);
  ASSERT_EQ(streamers.status, 200) << streamers.raw;
  ASSERT_EQ(streamers.body["streamers"].size(), 2u);
  EXPECT_EQ(streamers.body["streamers"][0],
            nlohmann::json::parse(R"({"id":"str_gpu","model":{"name":"my-world","version":"1.0"},
                "capacity":1,"in_use":1,"degraded":false,"version":"0.9"})"));

  EXPECT_EQ(node_.call("GET", "/v1/models").status, 401);
  EXPECT_EQ(node_.call("GET", "/v1/streamers").status, 401);
  EXPECT_EQ(node_.call("POST", "/v1/models", key_).status, 405);
}

TEST_F(HttpApiTest, OdysseyRoutesMintOnTheSameMachinery) {
  auto token = node_.call("POST", "/auth/token", "", R"({"api_key":")" + key_ + "\"}");
  ASSERT_EQ(token.status, 200) << token.raw;
  EXPECT_EQ(token.body["expires_in"], 3600);
  const std::string access = token.body["access_token"];
  EXPECT_EQ(node_.call("POST", "/auth/token", "", R"({"api_key":"ith_nope"})").status, 422);
  EXPECT_EQ(node_.call("POST", "/auth/token", "", R"({})").status, 422);
  std::string wrong = key_;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(node_.call("POST", "/auth/token", "", R"({"api_key":")" + wrong + "\"}").status, 401);

  auto regions = node_.call("GET", "/regions", access);
  ASSERT_EQ(regions.status, 200);
  EXPECT_EQ(regions.body["regions"][0]["id"], "local");
  EXPECT_EQ(regions.body["regions"][0]["ping_url"],
            "http://127.0.0.1:" + std::to_string(node_.port()) + "/healthz");

  auto req = node_.call("POST", "/sessions/request", access, R"({"region_latencies":{"local":3}})");
  ASSERT_EQ(req.status, 200) << req.raw;
  const std::string id = req.body["session_id"];
  EXPECT_EQ(req.body["signalling_url"],
            "ws://127.0.0.1:" + std::to_string(node_.port()) + "/signaling");
  EXPECT_EQ(req.body["streamer_id"], "str_test");
  auto st = node_.call("POST", "/sessions/token", access, R"({"session_id":")" + id + "\"}");
  ASSERT_EQ(st.status, 200) << st.raw;
  EXPECT_EQ(jwt_payload(st.body["session_token"])["session_id"], id);
  EXPECT_EQ(st.body["expires_in"], 600);
  EXPECT_EQ(node_.call("POST", "/sessions/token", access, R"({"session_id":")" + id + "\"}")
                .body["detail"]["code"],
            "credential_already_issued");
  EXPECT_EQ(node_.call("POST", "/sessions/token", access, R"({"session_id":"ses_x"})").status, 404);
  EXPECT_EQ(node_.call("POST", "/sessions/token", access, R"({})").status, 400);
  // The access token works on /v1 too, and a session token is not an API credential.
  EXPECT_EQ(node_.call("GET", "/v1/usage", access).body["active_count"], 1);
  EXPECT_EQ(node_.call("GET", "/v1/usage", st.body["session_token"]).body["detail"]["code"],
            "token_wrong_role");
}

TEST_F(HttpApiTest, MetricsExposeTheControlPlane) {
  node_.call("POST", "/v1/client_credentials", key_);
  node_.call("POST", "/v1/client_credentials", "ith_bad");
  const auto text = node_.call("GET", "/metrics").raw;
  for (const char* want :
       {"ithaca_mints_total 1", "ithaca_live_sessions{state=\"provisioned\"} 1",
        "ithaca_slots_in_use{account=\"acme\"} 1", "ithaca_http_request_duration_seconds_bucket",
        "ithaca_http_responses_total{status=\"401\"} 1"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

// Random requests at every route (seeded, so a failure reproduces): each gets a typed answer,
// none crashes the node or leaves a session behind that was not answered with 201.
TEST_F(HttpApiTest, RandomInputNeverCrashesOrCorrupts) {
  std::mt19937 rng(20261127);
  const std::vector<std::string> methods = {"GET", "POST", "DELETE", "PUT", "PATCH"};
  const std::vector<std::string> paths = {"/v1/client_credentials",
                                          "/v1/sessions",
                                          "/v1/sessions/ses_x",
                                          "/v1/usage",
                                          "/auth/token",
                                          "/regions",
                                          "/sessions/request",
                                          "/sessions/token",
                                          "/healthz",
                                          "/metrics",
                                          "/v1/sessions/",
                                          "/%00%ff"};
  const std::vector<std::string> bodies = {"",
                                           "{}",
                                           "null",
                                           "[]",
                                           "{\"metadata\":null}",
                                           "{\"metadata\":{\"a\":\"\\u0000\"}}",
                                           "{\"api_key\":5}",
                                           "{\"session_id\":[]}",
                                           "{\"capabilities\":{\"x\":true}}",
                                           "\xff\xfe",
                                           "{\"metadata\":{\"k\":\"\xc3\x28\"}}"};
  int created = 0;
  net::HttpClient c("127.0.0.1", node_.port());
  for (int i = 0; i < 400; ++i) {
    std::string body = bodies[rng() % bodies.size()];
    if (rng() % 4 == 0) {
      for (int n = static_cast<int>(rng() % 64); n > 0; --n) body += static_cast<char>(rng() % 256);
    }
    const std::string& method = methods[rng() % methods.size()];
    std::vector<std::pair<std::string, std::string>> headers;
    if (rng() % 5 != 0) headers.emplace_back("Authorization", "Bearer " + key_);
    const std::string& path = paths[rng() % paths.size()];
    auto r = c.request(method, path, body, headers);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_LT(r->status, 500) << method << " " << path << " " << body << " -> " << r->body;
    // A mint answers 201; the Odyssey two-step provisions with a 200.
    if (r->status == 201 || (path == "/sessions/request" && r->status == 200)) ++created;
  }
  EXPECT_EQ(node_.call("GET", "/healthz").status, 200);
  // Every live session is one a client was told about, and the limit held.
  EXPECT_LE(active_count(), 3);
  EXPECT_LE(active_count(), created);
}

// 200 mints fired at once at an account limited to 5: exactly 5 win, the rest are told why.
TEST(ConcurrencyRace, ExactlyTheLimitSucceeds) {
  TestNode node([](config::Config& c) { c.worker_threads = 8; });
  ASSERT_TRUE(node.server().add_streamer({"str_test", 1000, {}}).ok());
  const std::string key = node.create_key("racer", 5);
  constexpr int kClients = 200;
  std::barrier start(kClients);
  std::atomic<int> created{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      net::HttpClient c("127.0.0.1", node.port());
      (void)c.request("GET", "/healthz");  // connect before the barrier: the mints really race
      start.arrive_and_wait();
      auto r = call(c, "POST", "/v1/client_credentials", key);
      if (r.status == 201) {
        ++created;
      } else if (r.status == 429 && r.body["detail"]["code"] == "CONCURRENT_LIMIT_REACHED") {
        ++limited;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(limited.load(), kClients - 5);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(node.call("GET", "/v1/usage", key).body["active_count"], 5);
  EXPECT_EQ(node.server().registry().snapshot()[0].in_use, 5);
}

}  // namespace
}  // namespace ithaca::testing
