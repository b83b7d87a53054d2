// Where sessions run. A StreamerRegistry knows the streamers that registered, their capacity
// and capabilities, and places each new session on the least loaded one that has what the
// session asks for. The control plane reserves a place before it inserts a session and releases
// it when the session ends.
//
// LocalStreamerRegistry is the single-node implementation (memory, one mutex). Streamers are
// added by whoever hears from them (the streamer link of signaling; tests directly). The
// multi-node one (cluster::RedisStreamerRegistry) keeps the same through Redis, with leases.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/session/types.hpp"

namespace ithaca::session {

// The model a streamer serves (docs/model-workers.md): register.model of the streamer link.
// formats and params are compact JSON objects, kept and shown as the streamer declared them.
inline constexpr const char* kProceduralModel = "procedural";  // the built-in world
struct ModelInfo {
  std::string name = kProceduralModel;
  std::string version;
  std::string formats = "{}";
  std::string params = "{}";
  int max_sessions = 1;
  bool image_to_video = false;

  bool operator==(const ModelInfo&) const = default;
};

struct StreamerInfo {
  std::string id;
  int capacity = 0;  // sessions it can run at once (0: none yet, its workers are loading)
  Capabilities capabilities;
  ModelInfo model;
  bool degraded = false;  // its workers crashed repeatedly
  std::string version;    // the streamer's own version
};

// A streamer as placement sees it: what it registered and the places reserved on it.
struct StreamerLoad {
  StreamerInfo info;
  int in_use = 0;
};

// What readiness needs: whether a mint could be placed now (ignoring capabilities).
struct Availability {
  int registered = 0;   // streamers a session may be placed on (live ones, in a cluster)
  int free_places = 0;  // their capacity not yet reserved, summed
};

struct Placement {
  std::string streamer_id;
  Capabilities capabilities;  // of the chosen streamer: what the credentials advertise
  // The signaling URL of the node holding the streamer's link; empty: this node's own.
  std::string signaling_url;
  std::string model;  // the name of the model it serves
};

// The unknown_model refusal of reserve(), naming the model.
Error unknown_model(const std::string& model);

class StreamerRegistry {
 public:
  virtual ~StreamerRegistry() = default;
  // On a streamer serving `model` (any model when empty) with every required capability:
  // unknown_model when no live streamer serves `model`, no_streamer_available when none of
  // them has a free place.
  virtual Result<Placement> reserve(const Capabilities& required,
                                    const std::string& model = {}) = 0;
  virtual void release(const std::string& streamer_id) = 0;
  // A streamer linked to this node: adds or updates it; `in_use` is how many live sessions it
  // already runs (after a restart, from the store).
  virtual void upsert(const StreamerInfo& info, int in_use = 0) = 0;
  // Its link to this node is gone: nothing more is placed there. True when this node still held
  // it, and its sessions are then the caller's to end; false when another node took it over
  // meanwhile (its sessions belong to that link now).
  virtual bool remove(const std::string& streamer_id) = 0;
  // A streamer linked to this node reports its places and health (the link's `capacity`); false
  // when it is not linked here. Live sessions over the new capacity are left alone.
  virtual bool set_capacity(const std::string& streamer_id, int capacity, bool degraded) = 0;
  // Every live streamer with its load (cluster-wide with Redis), ordered by id.
  virtual Result<std::vector<StreamerLoad>> list() = 0;
  // The signaling URL of the node holding a streamer's link; empty when it is this node (or
  // unknown).
  virtual std::string signaling_url_of(const std::string& /*streamer_id*/) { return {}; }
  // The streamers reserve() would consider and their free places; an error (store_unavailable)
  // when that cannot be known now.
  virtual Result<Availability> availability() = 0;
};

class LocalStreamerRegistry final : public StreamerRegistry {
 public:
  void upsert(const StreamerInfo& info, int in_use = 0) override;
  bool remove(const std::string& streamer_id) override;

  bool set_capacity(const std::string& streamer_id, int capacity, bool degraded) override;
  Result<std::vector<StreamerLoad>> list() override;

  Result<Placement> reserve(const Capabilities& required, const std::string& model = {}) override;
  void release(const std::string& streamer_id) override;
  Result<Availability> availability() override;

  using Load = StreamerLoad;
  std::vector<Load> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Load> streamers_;
};

}  // namespace ithaca::session
