// IdlePicture: what a model streamer shows a connection that runs no stream: a dark frame of
// the model's size with frame marker 0, rendered once. The model is not asked for anything.
#pragma once

#include <mutex>

#include "ithaca/media/frame_source.hpp"

namespace ithaca::model {

class IdlePicture final : public media::FrameSource {
 public:
  explicit IdlePicture(media::StreamFormat format) : format_(format) {}
  Result<media::AppliedPrompt> start(const media::StreamStart&) override {
    return media::AppliedPrompt{};
  }
  Result<media::AppliedPrompt> interact(std::string_view) override {
    return make_error(ErrorCode::stream_not_active);
  }
  void end() override {}
  Status render(media::VideoFrame& out, int64_t frame_index) override;
  media::AppliedPrompt applied_prompt() const override { return {}; }
  media::StreamFormat format() const override { return format_; }

 private:
  media::StreamFormat format_;
  std::once_flag once_;
  media::VideoFrame picture_;
};

}  // namespace ithaca::model
