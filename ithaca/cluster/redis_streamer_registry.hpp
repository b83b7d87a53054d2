// RedisStreamerRegistry: the StreamerRegistry of a multi-node deployment, kept in the same Redis
// as the RedisStore. Every node places sessions on every streamer, whichever node holds its link.
//
// Each entry records the streamer's capacity, capabilities, load (in_use), the node holding its
// link and that node's signaling URL, so credentials for a session placed there lead the client
// to the node that can relay to the streamer. Entries live under leases: a node refreshes its
// own lease and its streamers' leases on every heartbeat(), so a dead streamer (its link drops,
// the node removes it) or a dead node (its heartbeats stop) vanishes within the lease. reserve()
// skips entries whose lease, or whose node's lease, has expired; ClusterNode ends the sessions
// on them (streamer_disconnected) and forget_dead() removes them.
//
// availability() counts what reserve() would consider, cluster-wide, in one read-only script.
//
// Atomicity: reserve (least loaded with the capabilities, then in_use + 1), release, upsert,
// remove and forget_dead are each one Lua script. upsert by another node takes a streamer over
// (its new link); this node's later heartbeat or remove then leaves it alone.
//
// in_use counts places reserved and not yet released. A node that dies between reserve() and
// its insert leaks a place until the streamer registers again (upsert recounts from the store).
//
// Keys (prefix "ith:"): streamers (set), streamer:ID {capacity, caps, node, url, in_use, model,
// model_info, degraded, version}, streamer_lease:ID (PX lease, value: node id), node:ID (PX lease,
// value: signaling URL). Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ithaca/session/streamer_registry.hpp"
#include "ithaca/store/redis/redis_client.hpp"

namespace ithaca::cluster {

struct NodeIdentity {
  std::string node_id;
  std::string signaling_url;  // ws(s)://this-node/signaling: where its streamers' clients go
  std::chrono::milliseconds lease{9000};
};

class RedisStreamerRegistry final : public session::StreamerRegistry {
 public:
  RedisStreamerRegistry(std::shared_ptr<store::redis::RedisPool> pool, NodeIdentity self);

  Result<session::Placement> reserve(const session::Capabilities& required,
                                     const std::string& model = {}) override;
  void release(const std::string& streamer_id) override;
  // Failures (Redis down) are logged; the next heartbeat() writes the entry again.
  void upsert(const session::StreamerInfo& info, int in_use = 0) override;
  bool remove(const std::string& streamer_id) override;
  bool set_capacity(const std::string& streamer_id, int capacity, bool degraded) override;
  Result<std::vector<session::StreamerLoad>> list() override;
  std::string signaling_url_of(const std::string& streamer_id) override;
  // Over every node: the entries reserve() would consider (live lease, live node).
  Result<session::Availability> availability() override;

  // Called after upsert() adds a streamer that was not linked here (a new link), from the
  // caller's thread: set by ClusterNode before any link can register.
  void on_linked(std::function<void(const std::string& streamer_id)> callback);

  // Refreshes this node's lease and writes its streamers' entries again (re-creating them if
  // Redis lost them). Streamers another node took over are dropped from this node's list.
  Status heartbeat();
  // Streamers registered or holding live sessions whose lease expired.
  Result<std::vector<std::string>> dead_streamers();
  // Removes a dead streamer's entry (unless its lease came back meanwhile) once its sessions
  // are ended; true when it was removed.
  Result<bool> forget_dead(const std::string& streamer_id);

  const NodeIdentity& self() const { return self_; }

 private:
  struct Mine {
    session::StreamerInfo info;
  };
  Result<bool> write_entry(const session::StreamerInfo& info, const std::string& in_use);

  std::shared_ptr<store::redis::RedisPool> pool_;
  // Heartbeats and clean-up on a connection of their own: under load every connection of
  // `pool_` may be busy with requests, and a heartbeat that waits for one lets leases run out.
  std::shared_ptr<store::redis::RedisPool> beat_pool_;
  const NodeIdentity self_;
  std::mutex mu_;
  std::map<std::string, Mine> mine_;  // streamers linked to this node
  std::function<void(const std::string&)> on_linked_;
};

}  // namespace ithaca::cluster
