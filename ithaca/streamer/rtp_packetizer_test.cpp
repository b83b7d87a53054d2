#include "ithaca/streamer/rtp_packetizer.hpp"

#include <gst/rtp/gstrtpbuffer.h>
#include <gtest/gtest.h>

#include "ithaca/streamer/test_support.hpp"

namespace ithaca::streamer {
namespace {

struct Packet {
  uint16_t seq;
  uint32_t timestamp, ssrc;
  uint8_t pt;
  bool marker;
  size_t size;
  uint8_t first_payload_byte;
};

Packet read(GstBuffer* buffer) {
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  EXPECT_TRUE(gst_rtp_buffer_map(buffer, GST_MAP_READ, &rtp));
  Packet p{gst_rtp_buffer_get_seq(&rtp),
           gst_rtp_buffer_get_timestamp(&rtp),
           gst_rtp_buffer_get_ssrc(&rtp),
           gst_rtp_buffer_get_payload_type(&rtp),
           gst_rtp_buffer_get_marker(&rtp) != FALSE,
           gst_buffer_get_size(buffer),
           static_cast<const uint8_t*>(gst_rtp_buffer_get_payload(&rtp))[0]};
  gst_rtp_buffer_unmap(&rtp);
  return p;
}

TEST(RtpPacketizer, MakesOneStreamOfPacketsFrameByFrame) {
  EncoderSettings settings;  // x264, key frame every 60 frames
  settings.bitrate_kbps = 3000;
  testing::EncodedFrames encoded;
  ASSERT_NO_FATAL_FAILURE(testing::encode_frames(settings, 10, encoded));
  auto packetizer = RtpPacketizer::create(settings, encoded.caps, 0xCAFE0001);
  ASSERT_TRUE(packetizer) << packetizer.error().to_string();

  std::optional<uint16_t> next_seq;
  std::optional<uint32_t> last_timestamp;
  for (size_t f = 0; f < encoded.frames.size(); ++f) {
    auto packets = (*packetizer)->packetize(encoded.frames[f].get());
    ASSERT_FALSE(packets.empty()) << "frame " << f;
    const uint32_t timestamp = read(packets.front().get()).timestamp;
    if (last_timestamp) {
      EXPECT_NEAR(timestamp - *last_timestamp, 3000u, 1) << "30 fps at 90 kHz";
    }
    last_timestamp = timestamp;
    for (size_t i = 0; i < packets.size(); ++i) {
      const Packet p = read(packets[i].get());
      EXPECT_EQ(p.ssrc, 0xCAFE0001u);
      EXPECT_EQ(p.pt, 96);
      EXPECT_EQ(p.timestamp, timestamp) << "one frame, one timestamp";
      EXPECT_EQ(p.marker, i + 1 == packets.size()) << "the marker ends the frame";
      EXPECT_LE(p.size, 1200u);
      if (next_seq) {
        EXPECT_EQ(p.seq, *next_seq);
      }
      next_seq = static_cast<uint16_t>(p.seq + 1);
    }
    if (f == 0) {  // the key frame starts with SPS and PPS, aggregated (STAP-A, type 24)
      EXPECT_EQ(read(packets.front().get()).first_payload_byte & 0x1f, 24);
      EXPECT_GT(packets.size(), 2u);
    }
  }
}

TEST(RtpPacketizer, RefusesCapsItsPayloaderCannotTake) {
  init_gstreamer();
  GstCaps* raw = gst_caps_from_string("video/x-raw,format=I420,width=320,height=180");
  auto packetizer = RtpPacketizer::create(EncoderSettings{}, raw, 1);
  gst_caps_unref(raw);
  ASSERT_FALSE(packetizer);
  EXPECT_EQ(packetizer.error().code, ErrorCode::streamer_failed);
  EXPECT_NE(packetizer.error().detail.find("caps"), std::string::npos) << packetizer.error().detail;
}

}  // namespace
}  // namespace ithaca::streamer
