#include "ithaca/session/streamer_registry.hpp"

#include <algorithm>

namespace ithaca::session {
namespace {

bool has_all(const Capabilities& offered, const Capabilities& required) {
  for (const auto& [name, wanted] : required) {
    if (!wanted) continue;
    auto it = offered.find(name);
    if (it == offered.end() || !it->second) return false;
  }
  return true;
}

}  // namespace

Error unknown_model(const std::string& model) {
  return make_error(ErrorCode::unknown_model,
                    "no registered streamer serves model \"" + model + "\"");
}

void LocalStreamerRegistry::upsert(const StreamerInfo& info, int in_use) {
  std::lock_guard lock(mu_);
  auto& load = streamers_[info.id];
  load.info = info;
  load.in_use = in_use;
}

bool LocalStreamerRegistry::remove(const std::string& streamer_id) {
  std::lock_guard lock(mu_);
  streamers_.erase(streamer_id);
  return true;  // one node: its links are the only ones
}

bool LocalStreamerRegistry::set_capacity(const std::string& streamer_id, int capacity,
                                         bool degraded) {
  std::lock_guard lock(mu_);
  auto it = streamers_.find(streamer_id);
  if (it == streamers_.end()) return false;
  it->second.info.capacity = capacity;
  it->second.info.degraded = degraded;
  return true;
}

Result<std::vector<StreamerLoad>> LocalStreamerRegistry::list() {
  return snapshot();
}

Result<Placement> LocalStreamerRegistry::reserve(const Capabilities& required,
                                                 const std::string& model) {
  std::lock_guard lock(mu_);
  Load* best = nullptr;
  bool served = model.empty();
  for (auto& [id, load] : streamers_) {
    if (!model.empty() && load.info.model.name != model) continue;
    served = true;
    if (load.in_use >= load.info.capacity || !has_all(load.info.capabilities, required)) continue;
    // Least loaded by fraction of capacity, so a big streamer takes proportionally more.
    if (!best || static_cast<int64_t>(load.in_use) * best->info.capacity <
                     static_cast<int64_t>(best->in_use) * load.info.capacity) {
      best = &load;
    }
  }
  if (!served) return unknown_model(model);
  if (!best) return make_error(ErrorCode::no_streamer_available);
  ++best->in_use;
  return Placement{best->info.id, best->info.capabilities, {}, best->info.model.name};
}

void LocalStreamerRegistry::release(const std::string& streamer_id) {
  std::lock_guard lock(mu_);
  auto it = streamers_.find(streamer_id);
  if (it != streamers_.end() && it->second.in_use > 0) --it->second.in_use;
}

Result<Availability> LocalStreamerRegistry::availability() {
  std::lock_guard lock(mu_);
  Availability out;
  for (const auto& [id, load] : streamers_) {
    ++out.registered;
    out.free_places += std::max(0, load.info.capacity - load.in_use);
  }
  return out;
}

std::vector<LocalStreamerRegistry::Load> LocalStreamerRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<Load> out;
  for (const auto& [id, load] : streamers_) out.push_back(load);
  return out;
}

}  // namespace ithaca::session
