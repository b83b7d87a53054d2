#include "ithaca/api/models.hpp"

#include <gtest/gtest.h>

namespace ithaca::api {
namespace {

using nlohmann::ordered_json;
using session::LocalStreamerRegistry;
using session::StreamerInfo;

StreamerInfo streamer(std::string id, std::string model, int capacity) {
  StreamerInfo info;
  info.id = std::move(id);
  info.capacity = capacity;
  info.version = "0.9";
  if (!model.empty()) {
    info.model.name = std::move(model);
    info.model.version = "1.0";
    info.model.formats = R"({"landscape":{"width":1280,"height":704,"fps":30}})";
    info.model.params = R"({"seed":{"type":"integer","minimum":0}})";
    info.model.max_sessions = 2;
    info.model.image_to_video = true;
  }
  return info;
}

TEST(ModelsJson, GroupsStreamersByModelAndSumsTheirPlaces) {
  LocalStreamerRegistry registry;
  registry.upsert(streamer("str_a", "my-world", 4), 1);
  registry.upsert(streamer("str_b", "my-world", 2), 2);
  registry.upsert(streamer("str_c", "", 3));
  auto j = models_json(registry, "my-world");
  ASSERT_TRUE(j.ok());
  ASSERT_EQ((*j)["models"].size(), 2u);
  const auto& mine = (*j)["models"][0];
  EXPECT_EQ(mine["name"], "my-world");
  EXPECT_EQ(mine["version"], "1.0");
  EXPECT_EQ(mine["formats"]["landscape"]["width"], 1280);
  EXPECT_EQ(mine["params"]["seed"]["type"], "integer");
  EXPECT_EQ(mine["image_to_video"], true);
  EXPECT_EQ(mine["max_sessions"], 2);
  EXPECT_EQ(mine["streamers"], 2);
  EXPECT_EQ(mine["capacity"], 6);
  EXPECT_EQ(mine["in_use"], 3);
  const auto& procedural = (*j)["models"][1];
  EXPECT_EQ(procedural["name"], "procedural");
  EXPECT_EQ(procedural["capacity"], 3);
  EXPECT_EQ((*j)["default"], "my-world");
  EXPECT_TRUE((*models_json(registry, ""))["default"].is_null());
}

TEST(StreamersJson, ListsEachStreamerWithItsModelLoadAndHealth) {
  LocalStreamerRegistry registry;
  registry.upsert(streamer("str_a", "my-world", 4), 1);
  ASSERT_TRUE(registry.set_capacity("str_a", 2, true));
  EXPECT_FALSE(registry.set_capacity("str_gone", 2, true));
  auto j = streamers_json(registry);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->dump(), R"({"streamers":[{"id":"str_a","model":{"name":"my-world","version":"1.0"},)"
                       R"("capacity":2,"in_use":1,"degraded":true,"version":"0.9"}]})");
}

TEST(PlacementMetrics, DegradedPerStreamerAndPlacesPerModel) {
  LocalStreamerRegistry registry;
  registry.upsert(streamer("str_a", "my-world", 4), 1);
  registry.upsert(streamer("str_b", "my-world", 2));
  ASSERT_TRUE(registry.set_capacity("str_b", 2, true));
  metrics::Registry metrics;
  add_placement_metrics(metrics, registry);
  const std::string text = metrics.render();
  EXPECT_NE(text.find(R"(ithaca_streamer_degraded{streamer="str_a"} 0)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(ithaca_streamer_degraded{streamer="str_b"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(ithaca_model_capacity{model="my-world"} 6)"), std::string::npos);
  EXPECT_NE(text.find(R"(ithaca_model_in_use{model="my-world"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace ithaca::api
