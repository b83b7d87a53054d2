// ProceduralWorld: the built-in stand-in for a world model. It answers prompts the way a model
// would look from the outside, at almost no cost, so the whole streaming path can run and be
// measured without a GPU:
//   - each prompt picks the scene (palette, the waves of the background, the moving shapes) from
//     a hash of its text: the same prompt always looks the same, different prompts differ;
//   - the scene moves continuously; a frame is a pure function of the prompt, its sequence
//     number, the start image and the frame index;
//   - a start image becomes the background (scaled to cover the frame, centre-cropped), with the
//     moving shapes drawn half-transparent over it;
//   - every frame carries a label saying it is simulated ("SIMULATED WORLD - not a model"),
//     the prompt text at the bottom (non-ASCII drawn as '?'), and
//     the frame marker of frame_marker.hpp in the top-left corner.
// A 1280x704 frame costs 0.65 to 0.95 ms of one core, 2 to 3% of it at 30 fps
// (bench/frame_source_bench.cpp, bench/encode_bench.cpp); with a start image, about 0.25 ms.
// Threads: as FrameSource says; start/interact build the new scene under their own lock, and
// render() only takes a short lock to pick up the current scene.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>

#include "ithaca/media/frame_source.hpp"

namespace ithaca::media {

namespace detail {
struct WorldScene;    // what one prompt looks like; immutable once built
struct WorldScratch;  // per-frame tables, owned by the render thread
}  // namespace detail

class ProceduralWorld final : public FrameSource {
 public:
  struct Options {
    int frame_rate = kDefaultFrameRate;  // reported by format(); clamped to 1..240
  };
  static constexpr std::string_view kLabel = "SIMULATED WORLD - not a model";

  ProceduralWorld();
  explicit ProceduralWorld(Options options);
  ~ProceduralWorld() override;
  ProceduralWorld(const ProceduralWorld&) = delete;
  ProceduralWorld& operator=(const ProceduralWorld&) = delete;

  Result<AppliedPrompt> start(const StreamStart& request) override;
  Result<AppliedPrompt> interact(std::string_view prompt) override;
  void end() override;
  Status render(VideoFrame& out, int64_t frame_index) override;
  AppliedPrompt applied_prompt() const override;
  StreamFormat format() const override;

 private:
  enum class State { idle, running, ended };

  Status check_running_locked() const;

  std::mutex update_mu_;  // serializes start/interact/end, held while a scene is built
  std::shared_ptr<const VideoFrame> background_;  // the start image as I420; under update_mu_
  mutable std::mutex mu_;  // guards the fields below; render() holds it only to copy scene_
  State state_ = State::idle;
  StreamFormat format_;
  std::shared_ptr<const detail::WorldScene> scene_;
  std::unique_ptr<detail::WorldScratch> scratch_;  // only render() touches it
};

}  // namespace ithaca::media
