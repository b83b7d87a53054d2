#include "ithaca/model/model_pool.hpp"

#include "ithaca/model/idle_picture.hpp"
#include "ithaca/model/model_source.hpp"

namespace ithaca::model {

LaneLease::~LaneLease() {
  pool_.release(worker_, lane_);
}

ModelWorker& LaneLease::worker() const {
  return *pool_.workers_[worker_];
}

ModelPool::ModelPool(PoolOptions options, std::function<void()> on_change) {
  const int n = std::max(1, options.workers);
  leased_.resize(n);
  for (int i = 0; i < n; ++i) {
    WorkerOptions w = options.timeouts;
    w.command = options.command;
    w.index = i;
    w.gpu = options.gpus.empty() ? std::string() : options.gpus[i % options.gpus.size()];
    workers_.push_back(std::make_unique<ModelWorker>(std::move(w), on_change));
  }
}

ModelPool::~ModelPool() = default;

std::optional<ModelInfo> ModelPool::info() const {
  for (const auto& w : workers_) {
    if (auto i = w->info()) return i;
  }
  return std::nullopt;
}

int ModelPool::ready_places() const {
  int n = 0;
  for (const auto& w : workers_) n += w->ready_places();
  return n;
}

bool ModelPool::degraded() const {
  int n = 0;
  for (const auto& w : workers_) n += w->recent_crashes();
  return n >= 3;
}

int64_t ModelPool::total_crashes() const {
  int64_t n = 0;
  for (const auto& w : workers_) n += w->total_crashes();
  return n;
}

std::shared_ptr<LaneLease> ModelPool::acquire() {
  std::lock_guard lock(mu_);
  // Ready workers first; then one that is (re)starting, whose lanes come back with it.
  for (const bool want_ready : {true, false}) {
    for (int w = 0; w < static_cast<int>(workers_.size()); ++w) {
      const int lanes = workers_[w]->lanes();
      if ((workers_[w]->ready_places() > 0) != want_ready) continue;
      leased_[w].resize(std::max<std::size_t>(leased_[w].size(), lanes), false);
      for (int l = 0; l < lanes; ++l) {
        if (!leased_[w][l]) {
          leased_[w][l] = true;
          return std::make_shared<LaneLease>(*this, w, l);
        }
      }
    }
  }
  return nullptr;
}

void ModelPool::release(int worker, int lane) {
  std::lock_guard lock(mu_);
  if (lane < static_cast<int>(leased_[worker].size())) leased_[worker][lane] = false;
}

std::unique_ptr<media::FrameSource> ModelPool::new_source(std::shared_ptr<LaneLease> lease) const {
  return std::make_unique<ModelSource>(std::move(lease), info().value_or(ModelInfo{}));
}

std::unique_ptr<media::FrameSource> ModelPool::new_idle_source() const {
  return std::make_unique<IdlePicture>(info().value_or(ModelInfo{}).landscape);
}

}  // namespace ithaca::model
