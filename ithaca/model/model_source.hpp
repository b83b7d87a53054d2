// ModelSource: the FrameSource of one stream served by a model worker, on the lane its session
// leased. The streamer's code sees no difference from an in-process source: start() waits for
// the model's answer, interact() hands the prompt over (the model applies it from its next
// step), render() shows the lane's next frame with the marker of the prompt it was made with.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "ithaca/media/frame_source.hpp"
#include "ithaca/model/model_pool.hpp"

namespace ithaca::model {

class ModelSource final : public media::FrameSource {
 public:
  ModelSource(std::shared_ptr<LaneLease> lease, ModelInfo info);
  ~ModelSource() override;

  Result<media::AppliedPrompt> start(const media::StreamStart& request) override;
  Result<media::AppliedPrompt> interact(std::string_view prompt) override;
  void end() override;
  Status render(media::VideoFrame& out, int64_t frame_index) override;
  media::AppliedPrompt applied_prompt() const override;
  media::StreamFormat format() const override;
  bool answers_later() const override { return true; }

 private:
  std::shared_ptr<LaneLease> lease_;
  ModelInfo info_;
  mutable std::mutex mu_;
  enum class Phase { fresh, running, ended } phase_ = Phase::fresh;
  bool portrait_ = false;
  uint64_t generation_ = 0;
  media::AppliedPrompt applied_;
};

}  // namespace ithaca::model
