// The video encoders a streamer can use, as GStreamer pipeline fragments from raw I420 frames to
// RTP packets ready for webrtcbin. x264 is the default (the cheapest: about a fifth of a core for
// 720p30); openh264 is the other H.264 choice; VP8 costs 3-5x more CPU. Settings follow
// docs/streaming.md, WebRTC fact 8: zero-latency tuning, constrained baseline (every browser
// decodes it), a key frame at least every 2 s, SPS/PPS with every key frame, 1200-byte RTP packets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"

namespace ithaca::streamer {

struct EncoderSettings {
  std::string name = "x264";  // x264, openh264 or vp8
  // 2 Mbit/s: ample for 1280x704 at 30 fps of synthetic or model-made video, and cheaper to
  // encode than 2.5 (bench/encode_bench.cpp).
  int bitrate_kbps = 2000;
  int keyframe_interval = 60;  // frames: 2 s at 30 fps
};

// "<encoder name=encoder ...> ! ... ! <payloader> ! application/x-rtp,...": the element named
// "encoder" receives the force-key-unit events. config_invalid for an unknown name.
Result<std::string> encoder_pipeline(const EncoderSettings& settings);
// The first half of encoder_pipeline: raw frames to encoded frames, ending in a capsfilter named
// "encoded" whose src pad carries whole access units (where a broadcast taps the stream).
Result<std::string> encoder_fragment(const EncoderSettings& settings);
// The second half: encoded frames to RTP packets of `payload_type`, with the RTP stream id
// `ssrc` when given (a broadcast's spectators all get the same one), else a random one.
std::string payloader_fragment(const EncoderSettings& settings, int payload_type,
                               std::optional<uint32_t> ssrc = std::nullopt);
// The RTP encoding name of the encoder's output: "H264" or "VP8".
std::string encoding_name(const EncoderSettings& settings);
std::vector<std::string> encoder_names();

}  // namespace ithaca::streamer
