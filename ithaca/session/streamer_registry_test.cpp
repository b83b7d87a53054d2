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

}  // namespace
}  // namespace ithaca::session
