// RtpPacketizer: an encoded frame's RTP packets, made once for every spectator the fan-out
// sends to directly (docs/streaming.md section 5.1).
//
// It drives the same payloader as a peer's pipeline (payloader_fragment) without a pipeline of
// its own: packetize() pushes the frame into the payloader from the calling thread and collects
// what comes out, so the packets of a frame are known, in order, when it returns.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/streamer/encoder.hpp"
#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {

class RtpPacketizer {
 public:
  // Packets of payload type 96 (spectators' own types are written in when sending) and RTP
  // stream `ssrc`, for frames of `encoded_caps`.
  static Result<std::unique_ptr<RtpPacketizer>> create(const EncoderSettings& encoder,
                                                       GstCaps* encoded_caps, uint32_t ssrc);
  ~RtpPacketizer();
  RtpPacketizer(const RtpPacketizer&) = delete;
  RtpPacketizer& operator=(const RtpPacketizer&) = delete;

  // The RTP packets of one encoded frame, in sending order; empty when the payloader refused
  // it. One thread at a time.
  std::vector<GstBufferPtr> packetize(GstBuffer* frame);

 private:
  RtpPacketizer() = default;
  static GstFlowReturn on_packet(GstPad* pad, GstObject* parent, GstBuffer* packet);
  static GstFlowReturn on_packets(GstPad* pad, GstObject* parent, GstBufferList* packets);

  GstElement* payloader_ = nullptr;  // a bin: payloader ! capsfilter
  GstPad* into_ = nullptr;           // ours, linked to the payloader's sink
  GstPad* out_ = nullptr;            // ours, linked from the payloader's src
  std::vector<GstBufferPtr> collected_;
  GstClockTime first_ = GST_CLOCK_TIME_NONE;
};

}  // namespace ithaca::streamer
