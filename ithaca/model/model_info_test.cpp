#include "ithaca/model/model_info.hpp"

#include <gtest/gtest.h>

namespace ithaca::model {
namespace {

using nlohmann::json;

json hello() {
  return {{"protocol", 1},
          {"model", {{"name", "my-world"}, {"version", "1.0"}}},
          {"max_sessions", 4},
          {"image_to_video", true},
          {"formats",
           {{"landscape", {{"width", 640}, {"height", 352}, {"fps", 24}}},
            {"portrait", {{"width", 352}, {"height", 640}, {"fps", 24}}}}},
          {"params",
           {{"seed", {{"type", "integer"}, {"minimum", 0}}},
            {"guidance", {{"type", "number"}, {"minimum", 0}, {"maximum", 20}}},
            {"style", {{"type", "string"}, {"max_length", 8}}}}}};
}

TEST(ModelInfo, ParsesAHello) {
  auto info = parse_hello(hello());
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->name, "my-world");
  EXPECT_EQ(info->max_sessions, 4);
  EXPECT_EQ(info->format(true).width, 352);
  EXPECT_EQ(info->format(false).frame_rate, 24);
  EXPECT_EQ(info->max_frame_bytes(), 640u * 352 * 3);
  EXPECT_EQ(info->to_register_json()["formats"]["portrait"]["height"], 640);
}

TEST(ModelInfo, RefusesHellosItCannotServe) {
  for (auto edit : std::vector<std::function<void(json&)>>{
           [](json& h) { h["protocol"] = 2; },
           [](json& h) { h["model"]["name"] = "has space"; },
           [](json& h) { h["max_sessions"] = 0; },
           [](json& h) { h["formats"]["landscape"]["width"] = 641; },
           [](json& h) { h["formats"].erase("portrait"); },
           [](json& h) {
             h["params"]["x"] = {{"type", "tensor"}};
           },
       }) {
    json h = hello();
    edit(h);
    EXPECT_FALSE(parse_hello(h)) << h.dump();
  }
}

TEST(ModelInfo, ChecksParamsAgainstTheSchema) {
  const json schema = hello()["params"];
  EXPECT_TRUE(check_params(schema, json::object()));
  EXPECT_TRUE(check_params(schema, {{"seed", 7}, {"guidance", 7.5}, {"style", "ink"}}));
  for (const json& bad :
       {json{{"seed", -1}}, json{{"seed", 1.5}}, json{{"guidance", 21}}, json{{"guidance", "high"}},
        json{{"style", "watercolour"}}, json{{"steps", 4}}, json::array()}) {
    auto s = check_params(schema, bad);
    ASSERT_FALSE(s) << bad.dump();
    EXPECT_EQ(s.error().code, ErrorCode::invalid_params);
  }
  EXPECT_NE(check_params(schema, {{"steps", 4}}).error().detail.find("guidance"),
            std::string::npos);  // names what it takes
}

}  // namespace
}  // namespace ithaca::model
