#include "ithaca/cluster/cluster_node.hpp"

#include "ithaca/base/log.hpp"

namespace ithaca::cluster {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("cluster");
  return l;
}

}  // namespace

ClusterNode::ClusterNode(RedisStreamerRegistry& registry, session::SessionService& sessions,
                         session::Store& store)
    : registry_(registry), sessions_(sessions), store_(store) {
  registry_.on_linked([this](const std::string& id) { on_linked(id); });
  (void)tick();  // the node's lease exists before its first streamer can be placed on
  thread_ = std::thread([this] { run(); });
}

ClusterNode::~ClusterNode() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  registry_.on_linked(nullptr);
}

void ClusterNode::run() {
  // A third of the lease: two heartbeats may be lost before the lease runs out.
  const auto interval = registry_.self().lease / 3;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    (void)tick();
    lock.lock();
  }
}

int ClusterNode::tick() {
  if (auto beat = registry_.heartbeat(); !beat) {
    if (healthy_)
      log()->error("heartbeat failed node={}: {}", registry_.self().node_id,
                   beat.error().to_string());
    healthy_ = false;
    return 0;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!healthy_) {
    log()->info("heartbeat restored node={}", registry_.self().node_id);
    healthy_since_ = now;
  }
  healthy_ = true;
  if (now - healthy_since_ < registry_.self().lease) return 0;
  auto dead = registry_.dead_streamers();
  if (!dead) return 0;
  int ended = 0;
  for (const auto& id : *dead) {
    const int n = sessions_.end_sessions_on_streamer(id);
    ended += n;
    auto forgot = registry_.forget_dead(id);
    if (n > 0 || (forgot && *forgot)) {
      log()->info("streamer lease expired streamer={} sessions_ended={} by_node={}", id, n,
                  registry_.self().node_id);
    }
  }
  return ended;
}

void ClusterNode::on_linked(const std::string& streamer_id) {
  auto placed = store_.sessions_on_streamer(streamer_id);
  if (!placed) return;
  for (const auto& s : *placed) {
    if (s.state != session::SessionState::connected) continue;
    if (auto dropped = sessions_.on_unclean_drop(s.id); !dropped) {
      log()->info("session={} drop not applied: {}", s.id, dropped.error().to_string());
    }
  }
}

}  // namespace ithaca::cluster
