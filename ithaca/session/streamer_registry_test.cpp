#include "ithaca/session/streamer_registry.hpp"

#include <gtest/gtest.h>

namespace ithaca::session {
namespace {

TEST(LocalStreamerRegistry, PlacesOnTheLeastLoadedByFraction) {
  LocalStreamerRegistry r;
  r.upsert({"small", 2, {}});
  r.upsert({"big", 8, {}}, 2);
  // small: 0/2, big: 2/8 -> small first; then small 1/2 vs big 2/8 -> big.
  EXPECT_EQ(r.reserve({})->streamer_id, "small");
  EXPECT_EQ(r.reserve({})->streamer_id, "big");
  r.release("big");
  r.release("big");
  r.release("big");
  r.release("big");  // never below zero
  EXPECT_EQ(r.reserve({})->streamer_id, "big");
}

TEST(LocalStreamerRegistry, FullOrIncapableIsNoStreamer) {
  LocalStreamerRegistry r;
  EXPECT_EQ(r.reserve({}).error().code, ErrorCode::no_streamer_available);
  r.upsert({"s", 1, {{"image_to_video", false}}});
  EXPECT_EQ(r.reserve({{"image_to_video", true}}).error().code, ErrorCode::no_streamer_available);
  EXPECT_TRUE(r.reserve({{"image_to_video", false}}).ok());
  EXPECT_EQ(r.reserve({}).error().code, ErrorCode::no_streamer_available);
  r.remove("s");
  EXPECT_TRUE(r.snapshot().empty());
}

TEST(LocalStreamerRegistry, AvailabilityCountsStreamersAndFreePlaces) {
  LocalStreamerRegistry r;
  EXPECT_EQ(r.availability()->registered, 0);
  EXPECT_EQ(r.availability()->free_places, 0);
  r.upsert({"a", 2, {}});
  r.upsert({"b", 3, {}}, 5);  // over capacity after a restart: no free place, never negative
  ASSERT_TRUE(r.reserve({}).ok());
  auto a = r.availability();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->registered, 2);
  EXPECT_EQ(a->free_places, 1);
  ASSERT_TRUE(r.reserve({}).ok());
  EXPECT_EQ(r.availability()->free_places, 0);
  r.remove("a");
  r.remove("b");
  EXPECT_EQ(r.availability()->registered, 0);
}

StreamerInfo serving(std::string id, int capacity, std::string model) {
  StreamerInfo info{std::move(id), capacity, {}};
  info.model.name = std::move(model);
  return info;
}

TEST(LocalStreamerRegistry, PlacesOnlyOnStreamersOfTheRequestedModel) {
  LocalStreamerRegistry r;
  r.upsert(serving("world", 4, "procedural"));
  r.upsert(serving("gpu", 1, "my-world"));
  auto placed = r.reserve({}, "my-world");
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->streamer_id, "gpu");
  EXPECT_EQ(placed->model, "my-world");
  // Served but full: no place; not served at all: an unknown model, named.
  EXPECT_EQ(r.reserve({}, "my-world").error().code, ErrorCode::no_streamer_available);
  auto unknown = r.reserve({}, "other");
  EXPECT_EQ(unknown.error().code, ErrorCode::unknown_model);
  EXPECT_NE(unknown.error().detail.find("\"other\""), std::string::npos);
  EXPECT_EQ(r.reserve({}, "procedural")->model, "procedural");
  EXPECT_EQ(r.reserve({})->streamer_id, "world");  // no model asked: any
}

TEST(LocalStreamerRegistry, CapacityUpdatesApplyToPlacementAtOnce) {
  LocalStreamerRegistry r;
  r.upsert(serving("gpu", 0, "my-world"));
  EXPECT_EQ(r.reserve({}, "my-world").error().code, ErrorCode::no_streamer_available);
  ASSERT_TRUE(r.set_capacity("gpu", 2, false));
  ASSERT_TRUE(r.reserve({}, "my-world").ok());
  ASSERT_TRUE(r.set_capacity("gpu", 0, true));  // below its live sessions: they stay
  EXPECT_EQ(r.reserve({}, "my-world").error().code, ErrorCode::no_streamer_available);
  auto listed = r.list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].in_use, 1);
  EXPECT_TRUE((*listed)[0].info.degraded);
  EXPECT_EQ(r.availability()->free_places, 0);
  EXPECT_FALSE(r.set_capacity("nobody", 1, false));
}

}  // namespace
}  // namespace ithaca::session
