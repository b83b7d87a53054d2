// ClusterNode: what one node does for the cluster on a timer, beside serving. Every heartbeat
// (lease / 3) it renews its own lease and its streamers' (RedisStreamerRegistry::heartbeat),
// then looks for streamers whose lease expired (their node or link died) and ends their live
// sessions with streamer_disconnected, freeing the slots, before forgetting them. Any node may
// do that clean-up: each end is a compare-and-set, so two nodes doing it at once is harmless.
//
// It also applies the rule for a streamer that links here again after its previous node died:
// sessions it ran there lost their clients with that node, so connected ones become dropped
// (resumable with their token until it expires), as a restarted single node does.
//
// A lease that expired while Redis was unreachable is not a death: after an outage (and at
// start) a node cleans up only once it has renewed its own leases for a whole lease.
//
// One thread, started by the constructor and joined by the destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ithaca/cluster/redis_streamer_registry.hpp"
#include "ithaca/session/session_service.hpp"
#include "ithaca/session/store.hpp"

namespace ithaca::cluster {

class ClusterNode {
 public:
  ClusterNode(RedisStreamerRegistry& registry, session::SessionService& sessions,
              session::Store& store);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // One round: heartbeat, then clean up after dead streamers. Returns the sessions ended.
  int tick();

 private:
  void run();
  void on_linked(const std::string& streamer_id);

  RedisStreamerRegistry& registry_;
  session::SessionService& sessions_;
  session::Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool healthy_ = true;  // last heartbeat reached Redis (to log transitions once)
  // Since when heartbeats have succeeded without a break. Dead streamers are cleaned up only
  // after a whole lease of that: leases that ran out while Redis was unreachable (for every
  // node alike) are not deaths, and each node gets a lease to renew its own first.
  std::chrono::steady_clock::time_point healthy_since_ = std::chrono::steady_clock::now();
  std::thread thread_;
};

}  // namespace ithaca::cluster
