#include "ithaca/signaling/cors.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ithaca::signaling {
namespace {

net::HttpRequest request(std::string method, std::string origin) {
  net::HttpRequest r;
  r.method = std::move(method);
  r.path = "/signaling/config";
  if (!origin.empty()) r.headers.emplace_back("origin", std::move(origin));
  return r;
}

std::string header(const net::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

TEST(Cors, ListedOriginsAreEchoedOthersAreNot) {
  const CorsPolicy cors({"https://app.example.com", "http://LOCALHOST:5173"}, false);
  EXPECT_EQ(cors.decide(""), CorsPolicy::Decision::no_origin);
  EXPECT_EQ(cors.decide("https://app.example.com"), CorsPolicy::Decision::allowed);
  EXPECT_EQ(cors.decide("http://localhost:5173"), CorsPolicy::Decision::allowed);
  EXPECT_EQ(cors.decide("https://evil.example.com"), CorsPolicy::Decision::refused);
  EXPECT_EQ(cors.decide("https://app.example.com.evil.com"), CorsPolicy::Decision::refused);
  EXPECT_EQ(cors.decide("null"), CorsPolicy::Decision::refused);

  net::HttpResponse ok;
  cors.apply(request("GET", "https://app.example.com"), ok);
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header(ok, "Vary"), "Origin");

  net::HttpResponse refused;
  cors.apply(request("GET", "https://evil.example.com"), refused);
  EXPECT_EQ(header(refused, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(header(refused, "Vary"), "Origin");
  EXPECT_EQ(refused.status, 200);  // the answer itself is unchanged

  net::HttpResponse none;
  cors.apply(request("GET", ""), none);
  EXPECT_EQ(header(none, "Access-Control-Allow-Origin"), "<none>");
}

TEST(Cors, StarOrDevAllowsAnyOriginByEchoingIt) {
  for (const CorsPolicy& cors : {CorsPolicy({"*"}, false), CorsPolicy({}, true)}) {
    EXPECT_TRUE(cors.allow_any());
    net::HttpResponse r;
    cors.apply(request("GET", "https://anything.test"), r);
    EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "https://anything.test");
  }
  EXPECT_FALSE(CorsPolicy({}, false).allow_any());
  EXPECT_EQ(CorsPolicy({}, false).decide("https://a.test"), CorsPolicy::Decision::refused);
}

TEST(Cors, Preflight) {
  const CorsPolicy cors({"https://app.example.com"}, false);
  auto ok = cors.preflight(request("OPTIONS", "https://app.example.com"));
  EXPECT_EQ(ok.status, 204);
  EXPECT_TRUE(ok.body.empty());
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header(ok, "Access-Control-Allow-Methods"), "GET, POST, DELETE, OPTIONS");
  EXPECT_EQ(header(ok, "Access-Control-Allow-Headers"), "content-type, authorization");
  EXPECT_EQ(header(ok, "Vary"), "Origin");

  auto refused = cors.preflight(request("OPTIONS", "https://evil.example.com"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["detail"]["code"], "origin_not_allowed");
  EXPECT_EQ(header(refused, "Access-Control-Allow-Origin"), "<none>");

  auto no_origin = cors.preflight(request("OPTIONS", ""));
  EXPECT_EQ(no_origin.status, 204);
  EXPECT_EQ(header(no_origin, "Access-Control-Allow-Origin"), "<none>");
}

}  // namespace
}  // namespace ithaca::signaling
