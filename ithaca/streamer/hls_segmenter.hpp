// HlsSegmenter: the HLS rendition of a broadcast, from the same encoded H.264 frames the WebRTC
// viewers get (no second encode).
//
//   host encoder ──encoded frames──▶ appsrc ─▶ h264parse ─▶ hlssink2 (MPEG-TS segments)
//
// hlssink2 cuts a segment at the first key frame after the target duration (the encoder makes
// one every 2 s) and rewrites the playlist after each. Both are written into memory, not files:
// a streamer may run on another machine than the server that serves them, so the Broadcast
// ships every finished segment and playlist over the streamer link.
//
// Threads: create and the destructor on the streamer's MainLoopThread; push() from the host's
// streaming thread; the output on the HLS pipeline's own.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {

// Called on the HLS pipeline's streaming thread, each finished segment once, in order.
using HlsOutput = std::function<void(std::string name, std::string bytes, std::string playlist)>;

class HlsSegmenter {
 public:
  static constexpr unsigned kTargetSeconds = 2;
  static constexpr unsigned kPlaylistLength = 5;

  // streamer_failed when the pipeline cannot be built (h264parse or hlssink2 missing).
  static Result<std::unique_ptr<HlsSegmenter>> create(GstCaps* encoded_caps, HlsOutput output);
  ~HlsSegmenter();
  HlsSegmenter(const HlsSegmenter&) = delete;
  HlsSegmenter& operator=(const HlsSegmenter&) = delete;

  void push(GstBuffer* frame);  // a reference is taken; any thread

 private:
  struct Impl;
  explicit HlsSegmenter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ithaca::streamer
