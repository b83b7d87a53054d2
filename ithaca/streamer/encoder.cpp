#include "ithaca/streamer/encoder.hpp"

namespace ithaca::streamer {

std::vector<std::string> encoder_names() {
  return {"x264", "openh264", "vp8"};
}

Result<std::string> encoder_fragment(const EncoderSettings& s) {
  const std::string kbps = std::to_string(s.bitrate_kbps);
  const std::string bps = std::to_string(s.bitrate_kbps * 1000);
  const std::string gop = std::to_string(s.keyframe_interval);
  const std::string h264_out =
      " ! capsfilter name=encoded "
      "caps=video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au";
  if (s.name == "x264") {
    // x264enc applies its own defaults for trellis, ref and me over the speed preset: trellis
    // alone took half of the encoder's time in a profile. threads=1: one thread per stream
    // costs least in total, and at 30 fps a frame encodes well within its 33 ms.
    return "x264enc name=encoder tune=zerolatency speed-preset=ultrafast threads=1 trellis=false "
           "ref=1 me=dia bframes=0 vbv-buf-capacity=500 bitrate=" +
           kbps + " key-int-max=" + gop + h264_out;
  }
  if (s.name == "openh264") {
    return "openh264enc name=encoder complexity=low rate-control=bitrate bitrate=" + bps +
           " gop-size=" + gop + h264_out;
  }
  if (s.name == "vp8") {
    return "vp8enc name=encoder deadline=1 cpu-used=8 end-usage=cbr lag-in-frames=0 "
           "error-resilient=default target-bitrate=" +
           bps + " keyframe-max-dist=" + gop + " ! capsfilter name=encoded caps=video/x-vp8";
  }
  return make_error(ErrorCode::config_invalid,
                    "unknown encoder '" + s.name + "' (x264, openh264 or vp8)");
}

std::string encoding_name(const EncoderSettings& s) {
  return s.name == "vp8" ? "VP8" : "H264";
}

std::string payloader_fragment(const EncoderSettings& s, int payload_type,
                               std::optional<uint32_t> ssrc) {
  const std::string pt =
      std::to_string(payload_type) + (ssrc ? " ssrc=" + std::to_string(*ssrc) : std::string());
  // A capsfilter rather than caps shorthand: the fragment may also end a bin on its own.
  const std::string caps =
      "capsfilter caps=application/x-rtp,media=video,encoding-name=" + encoding_name(s) +
      ",payload=" + std::to_string(payload_type) + ",clock-rate=90000";
  if (s.name == "vp8") return "rtpvp8pay mtu=1200 pt=" + pt + " ! " + caps;
  return "rtph264pay config-interval=-1 aggregate-mode=zero-latency mtu=1200 pt=" + pt + " ! " +
         caps;
}

Result<std::string> encoder_pipeline(const EncoderSettings& s) {
  auto encoder = encoder_fragment(s);
  if (!encoder) return encoder;
  return *encoder + " ! " + payloader_fragment(s, 96);
}

}  // namespace ithaca::streamer
