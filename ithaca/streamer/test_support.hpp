// Helpers for the streamer module's tests: encoded frames from the real encoders, and libsrtp2
// (the reference SRTP implementation) as the other end of an SRTP stream.
#pragma once

#include <gst/gst.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <vector>

#include "ithaca/streamer/encoder.hpp"
#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer::testing {

struct EncodedFrames {
  GstCaps* caps = nullptr;
  std::vector<GstBufferPtr> frames;  // in decoding order; the first is a key frame
  EncodedFrames() = default;
  EncodedFrames(const EncodedFrames&) = delete;
  EncodedFrames& operator=(const EncodedFrames&) = delete;
  ~EncodedFrames();
};

// `count` frames of 320x180 test video at 30 fps through the encoder's own fragment; empty on
// failure (a gtest failure is recorded).
void encode_frames(const EncoderSettings& settings, int count, EncodedFrames& out);

// One libsrtp2 session for one direction of a stream.
class LibSrtp {
 public:
  LibSrtp(const std::vector<uint8_t>& master, bool outbound, bool tag80 = true);
  ~LibSrtp();
  LibSrtp(const LibSrtp&) = delete;
  LibSrtp& operator=(const LibSrtp&) = delete;

  std::vector<uint8_t> protect(std::vector<uint8_t> packet);
  // In place; false when the packet does not authenticate or is a replay.
  bool unprotect(std::vector<uint8_t>& packet);

 private:
  std::vector<uint8_t> key_;
  srtp_t session_ = nullptr;
};

}  // namespace ithaca::streamer::testing
