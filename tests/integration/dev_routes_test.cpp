// The dev-only routes of `ithaca server --dev` over real HTTP: the demo page and its assets (the
// JS SDK's browser modules under /sdk/ among them), and POST /dev/credentials (a mint for the
// "dev" account without an API key). Without dev mode every one of them is a 404 like any
// unknown route.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ithaca/base/encoding.hpp"
#include "test_node.hpp"

namespace ithaca::testing {
namespace {

std::string header_of(const net::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return v;
    }
  }
  return {};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json jwt_payload(const std::string& token) {
  const auto first = token.find('.'), second = token.find('.', first + 1);
  return nlohmann::json::parse(*base64url_decode(token.substr(first + 1, second - first - 1)));
}

class DevRoutesTest : public ::testing::Test {
 protected:
  explicit DevRoutesTest(bool dev = true)
      : node_([dev](config::Config& c) {
          c.dev = dev;
          c.default_max_concurrent = 2;
        }) {
    EXPECT_TRUE(node_.server().add_streamer({"str_test", 100, {{"image_to_video", false}}}).ok());
  }

  net::HttpResponse raw(const std::string& method, const std::string& target,
                        const std::string& body = {},
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpClient client("127.0.0.1", node_.port());
    auto r = client.request(method, target, body, std::move(headers));
    if (!r) throw std::runtime_error(r.error().to_string());
    return *r;
  }

  TestNode node_;
};

class NoDevRoutesTest : public DevRoutesTest {
 protected:
  NoDevRoutesTest() : DevRoutesTest(false) {}
};

TEST_F(DevRoutesTest, RootServesTheDemoPage) {
  auto r = raw("GET", "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header_of(r, "cache-control"), "no-store");
  EXPECT_EQ(header_of(r, "x-ithaca-dev-only"), "true");
  EXPECT_NE(r.body.find("DEV MODE"), std::string::npos);
  EXPECT_EQ(r.body, raw("GET", "/index.html").body);
}

TEST_F(DevRoutesTest, AssetsAreTheFilesOfWebDemoAndTheSdk) {
  const std::string root(ITHACA_SOURCE_DIR);
  for (const auto& [path, file] : std::vector<std::pair<std::string, std::string>>{
           {"/demo.js", "/web/demo/demo.js"},
           {"/watch.js", "/web/demo/watch.js"},
           {"/sdk/index.js", "/sdks/js/src/index.js"},
           {"/sdk/client.js", "/sdks/js/src/client.js"},
           {"/sdk/frame-marker.js", "/sdks/js/src/frame-marker.js"}}) {
    auto r = raw("GET", path + "?v=1");  // a query string is ignored
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8") << path;
    EXPECT_EQ(header_of(r, "cache-control"), "no-store") << path;
    EXPECT_EQ(r.body, read_file(root + file)) << path;
  }
  EXPECT_EQ(raw("GET", "/sdk/server.js").status, 404);  // the API-key path stays off the page
  EXPECT_EQ(raw("GET", "/ithaca-client.js").status, 404);
  EXPECT_EQ(raw("GET", "/nope.js").status, 404);
  EXPECT_EQ(raw("GET", "/../CMakeLists.txt").status, 404);
  EXPECT_EQ(raw("POST", "/demo.js").status, 405);
}

TEST_F(DevRoutesTest, DevCredentialsMintForTheDevAccountWithoutAKey) {
  auto r = raw("POST", "/dev/credentials", R"({"metadata":{"user":"demo"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header_of(r, "x-ithaca-dev-only"), "true");
  EXPECT_EQ(header_of(r, "cache-control"), "no-store");
  // The body is exactly the normal credentials object, in the same key order.
  const auto body = nlohmann::ordered_json::parse(r.body);
  std::vector<std::string> keys;
  for (const auto& [k, v] : body.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"session_id", "signaling_url", "session_token",
                                            "expires_in", "capabilities"}));
  EXPECT_EQ(body["signaling_url"], "ws://127.0.0.1:" + std::to_string(node_.port()) + "/signaling");
  EXPECT_EQ(body["expires_in"], 600);
  const auto claims = jwt_payload(body["session_token"]);
  EXPECT_EQ(claims["account"], "dev");
  EXPECT_EQ(claims["role"], "player");
  EXPECT_EQ(claims["session_id"], body["session_id"]);

  // The session belongs to the dev account: its key sees it, with the metadata.
  const std::string dev_key = node_.server().dev_api_key();
  ASSERT_FALSE(dev_key.empty());
  auto got = node_.call("GET", "/v1/sessions/" + body["session_id"].get<std::string>(), dev_key);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["metadata"]["user"], "demo");
  EXPECT_EQ(node_.call("GET", "/v1/usage", dev_key).body["active_count"], 1);
}

TEST_F(DevRoutesTest, DevCredentialsFollowTheMintRules) {
  EXPECT_EQ(raw("POST", "/dev/credentials", "{").status, 400);
  EXPECT_EQ(raw("POST", "/dev/credentials", R"({"metadata":{"n":1}})").status, 400);
  auto unsupported = raw("POST", "/dev/credentials", "x", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(unsupported.status, 415);
  // The account's limit applies: default_max_concurrent is 2 in this test.
  ASSERT_EQ(raw("POST", "/dev/credentials").status, 201);
  ASSERT_EQ(raw("POST", "/dev/credentials").status, 201);
  auto limited = raw("POST", "/dev/credentials");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_of(limited, "x-ithaca-dev-only"), "true");
  EXPECT_EQ(nlohmann::json::parse(limited.body)["detail"]["code"], "CONCURRENT_LIMIT_REACHED");
  EXPECT_EQ(raw("GET", "/dev/credentials").status, 405);
}

// Every answer of a --dev node says so, not just the dev routes': health, API, signaling,
// broadcast, unknown routes and refusals alike (the server's own 400/413/431: http_server_test).
TEST_F(DevRoutesTest, EveryAnswerOfADevNodeCarriesTheHeader) {
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/healthz"},
                                                        {"GET", "/metrics"},
                                                        {"GET", "/regions"},
                                                        {"GET", "/nope"},
                                                        {"GET", "/v1/usage"},
                                                        {"GET", "/signaling/config"},
                                                        {"GET", "/signaling/client/ses_nope"},
                                                        {"POST", "/broadcast/nope/whep"},
                                                        {"OPTIONS", "/v1/client_credentials"}}) {
    auto r = raw(method, path);
    EXPECT_EQ(header_of(r, "x-ithaca-dev-only"), "true")
        << method << " " << path << " " << r.status;
  }
}

TEST_F(NoDevRoutesTest, OtherAnswersDoNotCarryTheDevHeader) {
  for (const char* path : {"/healthz", "/signaling/config", "/nope"}) {
    EXPECT_TRUE(header_of(raw("GET", path), "x-ithaca-dev-only").empty()) << path;
  }
}

TEST_F(NoDevRoutesTest, EveryDevRouteIsANotFound) {
  for (const char* path : {"/", "/index.html", "/demo.js", "/sdk/index.js"}) {
    auto r = raw("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(nlohmann::json::parse(r.body)["detail"]["code"], "not_found") << path;
    EXPECT_TRUE(header_of(r, "x-ithaca-dev-only").empty()) << path;
  }
  auto mint = raw("POST", "/dev/credentials");
  EXPECT_EQ(mint.status, 404);
  EXPECT_EQ(nlohmann::json::parse(mint.body)["detail"]["code"], "not_found");
  const std::string key = node_.create_key("acme", 3);
  EXPECT_EQ(node_.call("GET", "/v1/usage", key).body["active_count"], 0);
}

}  // namespace
}  // namespace ithaca::testing
