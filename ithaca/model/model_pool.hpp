// ModelPool: the workers of one `ithaca streamer --model` (--workers N, --gpus) and their places.
// A session leases one lane (a place on one worker) for as long as it is connected; each stream
// it runs is a ModelSource on that lane. Capacity, what the streamer registers, is the places of
// ready workers.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ithaca/media/frame_source.hpp"
#include "ithaca/model/model_worker.hpp"

namespace ithaca::model {

struct PoolOptions {
  std::string command;
  int workers = 1;
  std::vector<std::string> gpus;  // CUDA_VISIBLE_DEVICES per worker, round robin; empty: none
  WorkerOptions timeouts;         // its command, index and gpu are set per worker
};

class ModelPool;

// One lane held by one session; given back when the last reference goes.
class LaneLease {
 public:
  LaneLease(ModelPool& pool, int worker, int lane) : pool_(pool), worker_(worker), lane_(lane) {}
  ~LaneLease();
  ModelWorker& worker() const;
  int lane() const { return lane_; }

 private:
  ModelPool& pool_;
  int worker_;
  int lane_;
};

class ModelPool {
 public:
  // Starts every worker. on_change: places, degradation or the model's info changed (any thread).
  ModelPool(PoolOptions options, std::function<void()> on_change);
  ~ModelPool();

  std::optional<ModelInfo> info() const;
  int ready_places() const;
  // Three crashes within ten minutes, across workers.
  bool degraded() const;
  int64_t total_crashes() const;
  const ModelWorker& worker(int i) const { return *workers_[i]; }
  int worker_count() const { return static_cast<int>(workers_.size()); }

  // A free lane, on a ready worker when there is one; nullptr when all are leased.
  std::shared_ptr<LaneLease> acquire();
  // A new stream's source on a leased lane.
  std::unique_ptr<media::FrameSource> new_source(std::shared_ptr<LaneLease> lease) const;
  // What a connection shows between streams: a still picture of the model's landscape size.
  std::unique_ptr<media::FrameSource> new_idle_source() const;

 private:
  friend class LaneLease;
  void release(int worker, int lane);

  std::vector<std::unique_ptr<ModelWorker>> workers_;
  mutable std::mutex mu_;
  std::vector<std::vector<bool>> leased_;  // [worker][lane]
};

}  // namespace ithaca::model
