// FrameSource: what produces the pictures of one stream. A world model implements it; so does
// ProceduralWorld, the built-in stand-in. The streamer owns one source per session and drives it:
//
//   start(request)    once, before any frame: the first prompt, the orientation, an optional
//                     start image (already decoded to RGB24; decoding is not this module's job).
//   render(frame, i)  once per frame, i = 0, 1, 2, ... at frame_rate(): writes picture i as I420
//                     into the caller's VideoFrame, which is reused from frame to frame (pull
//                     model: the encoder asks when it wants a frame; no allocation per frame).
//   interact(prompt)  any number of times: the world answers the new prompt from the next frame.
//   end()             once; render() and interact() refuse afterwards.
//
// Each start() and interact() that succeeds increments the prompt sequence number (a uint16_t
// that wraps). A source stamps it on every frame with frame_marker.hpp, so a client measures
// prompt-to-photon latency from the decoded video alone.
//
// Expected failures (bad input, wrong state) are returned as Error values with codes from
// spec/errors.json: invalid_request for a malformed request or a call before start(),
// session_ended for a call after end().
//
// Threads: render() is called by one thread at a time (the encoder's). start(), interact(),
// end(), applied_prompt() and format() are thread-safe and may run on any thread, concurrently
// with render(); a render() that begins after interact() returned shows the new prompt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ithaca/base/error.hpp"

namespace ithaca::media {

// The two stream sizes. Multiples of 16 (whole H.264 macroblocks) and of 2 (I420 chroma).
inline constexpr int kLandscapeWidth = 1280;
inline constexpr int kLandscapeHeight = 704;
inline constexpr int kPortraitWidth = 704;
inline constexpr int kPortraitHeight = 1280;
inline constexpr int kDefaultFrameRate = 30;
// The longest prompt a source accepts, in UTF-8 bytes; longer ones are invalid_request. Signaling
// is expected to refuse them before they get here.
inline constexpr std::size_t kMaxPromptBytes = 4096;
// The largest start image side a source accepts (a 8K frame is 7680 wide), in pixels.
inline constexpr int kMaxImageSide = 8192;

// A decoded picture, 8-bit RGB, rows top to bottom with no padding:
// bytes.size() == width * height * 3, pixel (x, y) at bytes[(y * width + x) * 3 + {0, 1, 2}].
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> bytes;
};

struct StreamStart {
  std::string prompt;     // UTF-8; may be empty (the source then shows its default world)
  bool portrait = false;  // true: 704x1280; false: 1280x704
  std::optional<RgbImage> start_image;  // the first picture of the world, scaled to the frame
  // The stream's generation parameters (startStream's `params`); a source that declares none
  // refuses a non-empty object with invalid_params.
  nlohmann::json params = nlohmann::json::object();
  // For sources whose stream can fail later (a model worker): called from any thread when it
  // cannot go on (stream_over) or a call failed after it returned (a refused prompt).
  std::function<void(const Error& error, bool stream_over)> on_fault;
  // For sources that answer prompts later (answers_later()): the answer to the interact() that
  // returned `sequence`, the prompt as applied or the model's refusal. Any thread.
  std::function<void(uint16_t sequence, const Result<std::string>& answer)> on_answer;
};

struct StreamFormat {
  int width = kLandscapeWidth;
  int height = kLandscapeHeight;
  int frame_rate = kDefaultFrameRate;  // frames per second the source wants to be asked for
};

// The prompt the world shows now, as the source applied it (a source may shorten or rewrite
// it), and its sequence number. This is what stream_started and prompt replies report.
struct AppliedPrompt {
  std::string text;
  uint16_t sequence = 0;
};

// One I420 (YUV 4:2:0 planar, BT.601 limited range) picture in one contiguous buffer: the Y
// plane (width x height), then U, then V (width/2 x height/2 each), rows without padding.
// Owned by the caller and reused across frames; resize() allocates only when the size grows.
struct VideoFrame {
  int width = 0;
  int height = 0;
  int64_t index = 0;      // the frame_index it was rendered for
  uint16_t sequence = 0;  // the prompt sequence number it shows (and its marker carries)
  std::vector<uint8_t> data;

  void resize(int w, int h) {
    width = w;
    height = h;
    data.resize(static_cast<std::size_t>(w) * h * 3 / 2);
  }
  int y_stride() const { return width; }
  int uv_stride() const { return width / 2; }
  uint8_t* y() { return data.data(); }
  uint8_t* u() { return data.data() + static_cast<std::size_t>(width) * height; }
  uint8_t* v() { return u() + static_cast<std::size_t>(width / 2) * (height / 2); }
  const uint8_t* y() const { return data.data(); }
  const uint8_t* u() const { return data.data() + static_cast<std::size_t>(width) * height; }
  const uint8_t* v() const { return u() + static_cast<std::size_t>(width / 2) * (height / 2); }
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;

  // Begins the stream. invalid_request when the request is malformed (prompt too long, image
  // of zero size or with a byte count that does not match) or the source already started;
  // session_ended after end().
  virtual Result<AppliedPrompt> start(const StreamStart& request) = 0;
  // Applies a new prompt from the next frame on. invalid_request for an empty or too long
  // prompt or before start(); session_ended after end().
  virtual Result<AppliedPrompt> interact(std::string_view prompt) = 0;
  // Ends the stream; idempotent.
  virtual void end() = 0;
  // Writes frame `frame_index` (>= 0) into `out`, resizing it to format() if needed.
  // invalid_request before start() or for a negative index; session_ended after end().
  virtual Status render(VideoFrame& out, int64_t frame_index) = 0;

  // The prompt shown now; empty text and sequence 0 before start().
  virtual AppliedPrompt applied_prompt() const = 0;
  // The size and rate of the stream; before start(), the landscape size.
  virtual StreamFormat format() const = 0;
  // True when interact() only hands the prompt over and the answer comes through
  // StreamStart::on_answer (a model in another process); false: interact() is the answer.
  virtual bool answers_later() const { return false; }
};

// The frame size of an orientation.
inline StreamFormat stream_format(bool portrait, int frame_rate = kDefaultFrameRate) {
  return portrait ? StreamFormat{kPortraitWidth, kPortraitHeight, frame_rate}
                  : StreamFormat{kLandscapeWidth, kLandscapeHeight, frame_rate};
}

}  // namespace ithaca::media
