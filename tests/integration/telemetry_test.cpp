// POST /telemetry as the official Odyssey Python SDK (1.3.0) posts it, and as nobody should:
// oversized, malformed, hostile and flooding requests. Each answer, and what /metrics shows.
#include <gtest/gtest.h>

#include "test_node.hpp"

namespace ithaca::testing {
namespace {

using nlohmann::json;

// One event as the SDK builds it (_base_event() plus the event's own fields).
json sdk_event(json fields) {
  json e = {{"sdk_version", "1.3.0"},
            {"sdk_platform", "python"},
            {"platform_info", "Linux 6.8.0 / Python 3.12.3"},
            {"session_id", "ses_abc"},
            {"api_key_prefix", "ith_abcd"}};
  e.update(fields);
  return e;
}

class TelemetryTest : public ::testing::Test {
 protected:
  net::HttpResponse post(const std::string& body, const std::string& type = "application/json",
                         const std::string& bearer = {}) {
    net::HttpClient client("127.0.0.1", node_.port());
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", type}};
    if (!bearer.empty()) headers.emplace_back("Authorization", "Bearer " + bearer);
    auto r = client.request("POST", "/telemetry", body, headers);
    if (!r) throw std::runtime_error(r.error().to_string());
    return *r;
  }
  net::HttpResponse post_events(const json& events, const std::string& bearer = {}) {
    return post(json{{"events", events}}.dump(), "application/json", bearer);
  }
  std::string metrics() { return node_.call("GET", "/metrics").raw; }
  bool has(const std::string& line) { return metrics().find(line + "\n") != std::string::npos; }

  TestNode node_;
};

TEST_F(TelemetryTest, TheSdksEventsAreAcceptedAndFoldedIntoMetrics) {
  // The session timeline the SDK reports, one event per request, with its (unchecked) token.
  for (const json& e : {sdk_event({{"event", "session_connecting"}}),
                        sdk_event({{"event", "session_connected"}, {"connect_duration_ms", 1234}}),
                        sdk_event({{"error_type", "connection"},
                                   {"error_message", "ICE failed"},
                                   {"connection_status", "connecting"}}),
                        sdk_event({{"error_type", "usage"},
                                   {"error_message", "limit"},
                                   {"error_code", "MONTHLY_LIMIT_REACHED"}}),
                        sdk_event({{"event", "session_disconnected"}})}) {
    auto r = post_events(json::array({e}), "not-a-real-token");
    EXPECT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(json::parse(r.body), json::parse(R"({"accepted": 1, "dropped": 0})"));
  }
  EXPECT_TRUE(has("ithaca_client_events_total{event=\"session_connecting\"} 1"));
  EXPECT_TRUE(has("ithaca_client_events_total{event=\"session_connected\"} 1"));
  EXPECT_TRUE(has("ithaca_client_events_total{event=\"session_disconnected\"} 1"));
  EXPECT_TRUE(has("ithaca_client_events_total{event=\"error\"} 2"));
  EXPECT_TRUE(has(
      "ithaca_client_errors_total{sdk=\"python\",sdk_version=\"1.3.0\",error_type=\"connection\"} "
      "1"));
  EXPECT_TRUE(has(
      "ithaca_client_errors_total{sdk=\"python\",sdk_version=\"1.3.0\",error_type=\"usage\"} 1"));
  EXPECT_TRUE(has("ithaca_client_connect_duration_seconds_bucket{sdk=\"python\",le=\"1\"} 0"));
  EXPECT_TRUE(has("ithaca_client_connect_duration_seconds_bucket{sdk=\"python\",le=\"2\"} 1"));
  EXPECT_TRUE(has("ithaca_client_connect_duration_seconds_sum{sdk=\"python\"} 1.234"));
  EXPECT_TRUE(has("ithaca_client_connect_duration_seconds_count{sdk=\"python\"} 1"));
  // What the events carry is folded, never shown.
  const std::string text = metrics();
  for (const char* carried : {"ICE failed", "ses_abc", "ith_abcd", "MONTHLY_LIMIT", "Linux"}) {
    EXPECT_EQ(text.find(carried), std::string::npos) << carried;
  }
  EXPECT_TRUE(has("ithaca_http_responses_total{status=\"202\"} 5"));
}

TEST_F(TelemetryTest, OversizedAndMalformedRequestsAreRefused) {
  const std::string big =
      json{{"events", json::array({sdk_event({{"event", "session_connecting"},
                                              {"padding", std::string(17 * 1024, 'x')}})})}}
          .dump();
  auto r = post(big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["detail"]["code"], "request_too_large");
  EXPECT_EQ(json::parse(post("{not json").body)["detail"]["code"], "invalid_json");
  EXPECT_EQ(post("[]").status, 400);
  EXPECT_EQ(post(R"({"events": "many"})").status, 400);
  EXPECT_EQ(post(R"({"event": "session_connecting"})").status, 400);
  EXPECT_EQ(post(R"({"events": []})", "text/plain").status, 415);
  EXPECT_EQ(node_.call("GET", "/telemetry").status, 405);
  EXPECT_TRUE(has("ithaca_telemetry_rejected_total{reason=\"too_large\"} 1"));
  EXPECT_TRUE(has("ithaca_telemetry_rejected_total{reason=\"malformed\"} 5"));
}

TEST_F(TelemetryTest, EventsOfTheWrongShapeAreDroppedTheRestCounted) {
  const json events = json::array({
      sdk_event({{"event", "session_connected"}, {"connect_duration_ms", "fast"}}),    // type
      sdk_event({{"error_type", "auth"}, {"error_message", std::string(9000, 'e')}}),  // length
      sdk_event({{"error_type", 7}}),
      sdk_event({{"event", "session_connecting"}, {"error_type", "auth"}}),  // both
      sdk_event(json::object()),                                             // neither
      "an event", sdk_event({{"event", "session_connected"}, {"connect_duration_ms", -5}}),
      sdk_event({{"event", "session_connecting"}, {"sdk_version", nullptr}}),  // null: absent
  });
  auto r = post_events(events);
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"accepted": 1, "dropped": 7})"));
  EXPECT_TRUE(has("ithaca_telemetry_rejected_total{reason=\"invalid_event\"} 7"));
  // At most 32 events a request; the rest are dropped.
  json many = json::array();
  for (int i = 0; i < 40; ++i) many.push_back(sdk_event({{"event", "session_connecting"}}));
  EXPECT_EQ(json::parse(post_events(many).body), json::parse(R"({"accepted": 32, "dropped": 8})"));
  EXPECT_TRUE(has("ithaca_telemetry_rejected_total{reason=\"too_many_events\"} 8"));
}

TEST_F(TelemetryTest, ClientValuesNeverBecomeUnboundedLabels) {
  json events = json::array({
      sdk_event({{"event", "session_open"}}),  // an unknown event type
      sdk_event({{"event", "session_connected"},
                 {"sdk_platform", "rust\"}"},
                 {"connect_duration_ms", 500}}),
      sdk_event({{"error_type", "Not A Type!"}, {"sdk_version", "1.3.0<script>"}}),
  });
  // 29 well-shaped error types: the SDK's five and 11 more are labels, the rest "other".
  for (int i = 0; i < 29; ++i) {
    events.push_back(sdk_event({{"error_type", "kind_" + std::to_string(i)}}));
  }
  ASSERT_EQ(json::parse(post_events(events).body)["accepted"], 32);
  // 30 well-shaped versions: 16 (sdk, version) pairs are labels (1.3.0 above among them).
  json versions = json::array();
  for (int i = 0; i < 30; ++i) {
    versions.push_back(
        sdk_event({{"error_type", "auth"}, {"sdk_version", "9.0." + std::to_string(i)}}));
  }
  ASSERT_EQ(json::parse(post_events(versions).body)["accepted"], 30);

  const std::string text = metrics();
  EXPECT_TRUE(has("ithaca_client_events_total{event=\"other\"} 1"));
  EXPECT_TRUE(has("ithaca_client_connect_duration_seconds_count{sdk=\"other\"} 1"));
  EXPECT_TRUE(
      has("ithaca_client_errors_total{sdk=\"python\",sdk_version=\"other\",error_type=\"other\"} "
          "1"));
  EXPECT_TRUE(has(
      "ithaca_client_errors_total{sdk=\"python\",sdk_version=\"1.3.0\",error_type=\"kind_10\"} 1"));
  EXPECT_EQ(text.find("kind_11"), std::string::npos);
  EXPECT_TRUE(has(
      "ithaca_client_errors_total{sdk=\"python\",sdk_version=\"1.3.0\",error_type=\"other\"} 18"));
  EXPECT_NE(text.find("sdk_version=\"9.0.14\""), std::string::npos);
  EXPECT_EQ(text.find("sdk_version=\"9.0.15\""), std::string::npos);
  EXPECT_TRUE(has(
      "ithaca_client_errors_total{sdk=\"python\",sdk_version=\"other\",error_type=\"auth\"} 15"));
  for (const char* hostile : {"rust", "script", "Not A Type", "session_open"}) {
    EXPECT_EQ(text.find(hostile), std::string::npos) << hostile;
  }
}

TEST_F(TelemetryTest, AFloodFromOneAddressIsRateLimited) {
  const std::string body =
      json{{"events", json::array({sdk_event({{"event", "session_connecting"}})})}}.dump();
  int accepted = 0, limited = 0;
  std::string retry_after;
  net::HttpClient client("127.0.0.1", node_.port());  // one connection, as a flood would
  for (int i = 0; i < 100; ++i) {
    auto r = client.request("POST", "/telemetry", body, {{"Content-Type", "application/json"}});
    ASSERT_TRUE(r.ok());
    if (r->status == 202) ++accepted;
    if (r->status == 429) {
      ++limited;
      EXPECT_EQ(json::parse(r->body)["detail"]["code"], "RATE_LIMITED");
      for (const auto& [k, v] : r->headers) {
        if (k == "Retry-After" || k == "retry-after") retry_after = v;
      }
    }
  }
  // A burst of 20, then about one a second.
  EXPECT_GE(accepted, 20);
  EXPECT_LE(accepted, 30);
  EXPECT_EQ(accepted + limited, 100);
  EXPECT_EQ(retry_after, "1");
  EXPECT_TRUE(
      has("ithaca_telemetry_rejected_total{reason=\"rate_limited\"} " + std::to_string(limited)));
  EXPECT_TRUE(
      has("ithaca_client_events_total{event=\"session_connecting\"} " + std::to_string(accepted)));
  // The rest of the API is not affected.
  EXPECT_EQ(node_.call("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace ithaca::testing
