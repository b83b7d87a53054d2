// RedisStreamerRegistry against a real redis-server (started by the test on a free loopback
// port; skipped, loudly, only when redis-server is not installed): placement across nodes,
// capabilities, leases of streamers and nodes, take-over by another node, and ClusterNode's
// clean-up of a dead streamer's sessions.
#include "ithaca/cluster/redis_streamer_registry.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "ithaca/cluster/cluster_node.hpp"
#include "ithaca/store/redis/redis_store.hpp"
#include "redis_test_server.hpp"

namespace ithaca::cluster {
namespace {

using namespace std::chrono_literals;

class RedisRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::RedisTestServer::binary().empty()) {
      GTEST_SKIP() << "SKIPPED: redis-server is not installed (scripts/install-deps.sh)";
    }
    ASSERT_TRUE(server_.start());
    auto endpoint = store::redis::parse_redis_url(server_.url());
    ASSERT_TRUE(endpoint.ok());
    pool_ = std::make_shared<store::redis::RedisPool>(*endpoint);
  }

  std::unique_ptr<RedisStreamerRegistry> node(const std::string& id,
                                              std::chrono::milliseconds lease = 10s) {
    auto r = std::make_unique<RedisStreamerRegistry>(
        pool_, NodeIdentity{id, "ws://" + id + "/signaling", lease});
    EXPECT_TRUE(r->heartbeat().ok());
    return r;
  }

  testing::RedisTestServer server_;
  std::shared_ptr<store::redis::RedisPool> pool_;
};

TEST_F(RedisRegistryTest, PlacesOnTheLeastLoadedAcrossNodesAndRoutesToItsNode) {
  auto a = node("node_a");
  auto b = node("node_b");
  a->upsert({"str_a", 2, {{"image_to_video", false}}});
  b->upsert({"str_b", 4, {{"image_to_video", true}}});
  std::map<std::string, int> placed;
  for (int i = 0; i < 6; ++i) {
    auto p = (i % 2 ? a : b)->reserve({});
    ASSERT_TRUE(p.ok()) << i;
    ++placed[p->streamer_id];
    EXPECT_EQ(p->signaling_url,
              p->streamer_id == "str_a" ? "ws://node_a/signaling" : "ws://node_b/signaling");
  }
  EXPECT_EQ(placed["str_a"], 2);
  EXPECT_EQ(placed["str_b"], 4);
  EXPECT_EQ(a->reserve({}).error().code, ErrorCode::no_streamer_available);
  a->release("str_b");
  auto again = a->reserve({{"image_to_video", true}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->streamer_id, "str_b");
  EXPECT_TRUE(again->capabilities.at("image_to_video"));
  EXPECT_EQ(a->signaling_url_of("str_b"), "ws://node_b/signaling");
}

TEST_F(RedisRegistryTest, CapabilitiesAreRequired) {
  auto a = node("node_a");
  a->upsert({"plain", 4, {}});
  EXPECT_EQ(a->reserve({{"image_to_video", true}}).error().code, ErrorCode::no_streamer_available);
  EXPECT_TRUE(a->reserve({{"image_to_video", false}}).ok());
}

TEST_F(RedisRegistryTest, ModelsArePlacedOnAcrossNodesAndListed) {
  auto a = node("node_a");
  auto b = node("node_b");
  session::StreamerInfo gpu{"str_gpu", 0, {}};
  gpu.model.name = "my-world";
  gpu.model.version = "1.0";
  gpu.model.params = R"({"seed":{"type":"integer"}})";
  gpu.model.max_sessions = 2;
  gpu.version = "0.9";
  a->upsert(gpu);
  b->upsert({"str_proc", 4, {}});
  // Served but no place yet; not served at all.
  EXPECT_EQ(b->reserve({}, "my-world").error().code, ErrorCode::no_streamer_available);
  auto unknown = b->reserve({}, "other");
  EXPECT_EQ(unknown.error().code, ErrorCode::unknown_model);
  EXPECT_NE(unknown.error().detail.find("other"), std::string::npos);
  // Only the node holding the link reports its capacity; placement everywhere sees it.
  EXPECT_FALSE(b->set_capacity("str_gpu", 2, false));
  ASSERT_TRUE(a->set_capacity("str_gpu", 1, true));
  auto placed = b->reserve({}, "my-world");
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  EXPECT_EQ(placed->streamer_id, "str_gpu");
  EXPECT_EQ(placed->model, "my-world");
  EXPECT_EQ(placed->signaling_url, "ws://node_a/signaling");
  EXPECT_EQ(b->reserve({}, "my-world").error().code, ErrorCode::no_streamer_available);
  EXPECT_EQ(b->reserve({}, "procedural")->model, "procedural");
  ASSERT_TRUE(a->heartbeat().ok());  // a heartbeat keeps the reported capacity and load

  auto listed = b->list();
  ASSERT_TRUE(listed.ok()) << listed.error().to_string();
  ASSERT_EQ(listed->size(), 2u);
  const auto& g = (*listed)[0];
  EXPECT_EQ(g.info.id, "str_gpu");
  EXPECT_EQ(g.info.capacity, 1);
  EXPECT_EQ(g.in_use, 1);
  EXPECT_TRUE(g.info.degraded);
  EXPECT_EQ(g.info.model, gpu.model);
  EXPECT_EQ(g.info.version, "0.9");
  EXPECT_EQ((*listed)[1].info.model.name, "procedural");
  EXPECT_EQ((*listed)[1].in_use, 1);
}

TEST_F(RedisRegistryTest, ADeadNodesStreamersAreSkippedAndReportedDead) {
  auto a = node("node_a", 600ms);
  auto b = node("node_b", 10s);
  a->upsert({"str_a", 4, {}});
  EXPECT_TRUE(b->reserve({}).ok());
  // node_a stops heartbeating: within the lease its streamer is gone.
  std::this_thread::sleep_for(800ms);
  EXPECT_EQ(b->reserve({}).error().code, ErrorCode::no_streamer_available);
  auto dead = b->dead_streamers();
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(*dead, std::vector<std::string>{"str_a"});
  EXPECT_TRUE(*b->forget_dead("str_a"));
  EXPECT_TRUE(b->dead_streamers()->empty());
}

TEST_F(RedisRegistryTest, AnotherNodeTakesAStreamerOverAndTheOldOneLetsGo) {
  auto a = node("node_a");
  auto b = node("node_b");
  a->upsert({"str_x", 4, {}});
  b->upsert({"str_x", 4, {}});       // its new link
  ASSERT_TRUE(a->heartbeat().ok());  // does not take it back
  EXPECT_EQ(a->signaling_url_of("str_x"), "ws://node_b/signaling");
  EXPECT_FALSE(a->remove("str_x"));  // the old link closing: not a's to end
  EXPECT_TRUE(a->reserve({}).ok());
  EXPECT_TRUE(b->remove("str_x"));
  EXPECT_EQ(a->reserve({}).error().code, ErrorCode::no_streamer_available);
}

TEST_F(RedisRegistryTest, HeartbeatRewritesEntriesARestartedRedisLost) {
  auto a = node("node_a");
  a->upsert({"str_a", 4, {}});
  ASSERT_TRUE(pool_->command({"FLUSHDB"}).ok());
  EXPECT_EQ(a->reserve({}).error().code, ErrorCode::no_streamer_available);
  ASSERT_TRUE(a->heartbeat().ok());
  EXPECT_TRUE(a->reserve({}).ok());
}

TEST_F(RedisRegistryTest, AvailabilityCountsLiveStreamersOfEveryNode) {
  auto a = node("node_a", 600ms);
  auto b = node("node_b", 10s);
  EXPECT_EQ(b->availability()->registered, 0);
  a->upsert({"str_a", 2, {}});
  b->upsert({"str_b", 3, {{"image_to_video", true}}});
  ASSERT_TRUE(b->reserve({{"image_to_video", true}}).ok());
  auto both = a->availability();
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->registered, 2);
  EXPECT_EQ(both->free_places, 4);
  // node_a stops heartbeating: its streamer no longer counts, as reserve() skips it.
  std::this_thread::sleep_for(800ms);
  auto left = b->availability();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->registered, 1);
  EXPECT_EQ(left->free_places, 2);
}

TEST_F(RedisRegistryTest, ADownRedisIsStoreUnavailable) {
  auto a = node("node_a");
  server_.kill();
  EXPECT_EQ(a->availability().error().code, ErrorCode::store_unavailable);
  EXPECT_EQ(a->reserve({}).error().code, ErrorCode::store_unavailable);
  EXPECT_EQ(a->heartbeat().error().code, ErrorCode::store_unavailable);
}

TEST_F(RedisRegistryTest, ClusterNodeEndsTheSessionsOfADeadStreamer) {
  store::RedisStore store(pool_);
  ASSERT_TRUE(store.upsert_account({"acme", 5}).ok());
  auto dying = node("node_dying", 600ms);
  auto survivor = std::make_unique<RedisStreamerRegistry>(
      pool_, NodeIdentity{"node_b", "ws://node_b/signaling", 600ms});
  dying->upsert({"str_a", 4, {}});

  ManualClock clock;
  metrics::Registry metrics;
  session::SessionMetrics session_metrics(metrics);
  auto keys = auth::TokenKeyRing::create(auth::HmacKey{"k1", std::string(32, 'k')});
  ASSERT_TRUE(keys.ok());
  session::SessionRules rules;
  rules.signaling_url = "ws://node_b/signaling";
  session::SessionService sessions(store, *survivor, *keys, clock, rules, session_metrics);
  auto placed = sessions.provision("acme", {});
  ASSERT_TRUE(placed.ok()) << placed.error().to_string();
  EXPECT_EQ(placed->streamer_id, "str_a");

  ClusterNode cluster(*survivor, sessions, store);
  // str_a's node stopped heartbeating, but a node that just started waits a lease first.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(store.get_session(placed->id)->value().live());
  for (int i = 0; i < 60 && store.get_session(placed->id)->value().live(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  auto ended = store.get_session(placed->id);
  ASSERT_TRUE(ended.ok() && ended->has_value());
  EXPECT_EQ((*ended)->end_cause, session::EndCause::streamer_disconnected);
  EXPECT_TRUE(store.list_live_sessions("acme")->empty());
  EXPECT_TRUE(survivor->dead_streamers()->empty());
}

}  // namespace
}  // namespace ithaca::cluster
