#include "ithaca/streamer/viewer_peer.hpp"

#include <gst/rtp/gstrtcpbuffer.h>
#include <gtest/gtest.h>

#include <cstring>

namespace ithaca::streamer {
namespace {

// The video section of a Chromium recvonly offer, trimmed to what matters.
const char* kChromiumOffer =
    "v=0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 102 103 108 109 127 125\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:103 H264/90000\r\n"
    "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n"
    "a=rtpmap:108 H264/90000\r\n"
    "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
    "a=rtpmap:127 H264/90000\r\n"
    "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:125 H264/90000\r\n"
    "a=fmtp:125 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=rtpmap:111 opus/48000/2\r\n";

TEST(ChoosePayloadType, PrefersConstrainedBaselineWithPacketizationMode1) {
  EXPECT_EQ(choose_payload_type(kChromiumOffer, "H264"), 127);
}

TEST(ChoosePayloadType, FallsBackToBaseline) {
  const std::string offer =
      "m=video 9 UDP/TLS/RTP/SAVPF 99 100\r\n"
      "a=rtpmap:99 H264/90000\r\n"
      "a=fmtp:99 packetization-mode=1;profile-level-id=42001f\r\n"
      "a=rtpmap:100 H264/90000\r\n"
      "a=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\n";
  EXPECT_EQ(choose_payload_type(offer, "H264"), 99);
}

TEST(ChoosePayloadType, FindsVp8) {
  EXPECT_EQ(choose_payload_type(kChromiumOffer, "VP8"), 96);
}

TEST(ChoosePayloadType, RefusesWhatCannotBeReceived) {
  // Only main profile, or only packetization-mode 0, or H.264 only in the audio section.
  EXPECT_EQ(choose_payload_type("m=video 9 X 125\r\na=rtpmap:125 H264/90000\r\n"
                                "a=fmtp:125 packetization-mode=1;profile-level-id=4d001f\r\n",
                                "H264"),
            std::nullopt);
  EXPECT_EQ(choose_payload_type("m=video 9 X 108\r\na=rtpmap:108 H264/90000\r\n"
                                "a=fmtp:108 packetization-mode=0;profile-level-id=42e01f\r\n",
                                "H264"),
            std::nullopt);
  EXPECT_EQ(choose_payload_type("m=audio 9 X 102\r\na=rtpmap:102 H264/90000\r\n"
                                "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n",
                                "H264"),
            std::nullopt);
  EXPECT_EQ(choose_payload_type("", "H264"), std::nullopt);
  EXPECT_EQ(choose_payload_type("garbage\r\nm=video\r\na=rtpmap:x\r\n", "H264"), std::nullopt);
}

TEST(RejectDataChannels, ZeroesTheApplicationSectionAndUnbundlesIt) {
  const std::string answer =
      "v=0\r\n"
      "a=group:BUNDLE video0 audio1 application2\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 127\r\n"
      "a=mid:video0\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "a=mid:audio1\r\n"
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
      "a=mid:application2\r\n";
  const std::string out = reject_data_channels(answer);
  EXPECT_NE(out.find("a=group:BUNDLE video0 audio1\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"), std::string::npos);
  EXPECT_NE(out.find("m=video 9 UDP/TLS/RTP/SAVPF 127\r\n"), std::string::npos);
  // Without a data channel nothing changes.
  const std::string plain = "v=0\r\na=group:BUNDLE video0\r\nm=video 9 X 127\r\na=mid:video0\r\n";
  EXPECT_EQ(reject_data_channels(plain), plain);
}

// An RTCP compound packet: a receiver report, then the feedback packets of `feedback` (PSFB
// message types).
GstBuffer* rtcp_with(std::initializer_list<GstRTCPFBType> feedback) {
  GstBuffer* buffer = gst_rtcp_buffer_new(1500);
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  gst_rtcp_buffer_map(buffer, GST_MAP_READWRITE, &rtcp);
  GstRTCPPacket packet;
  gst_rtcp_buffer_add_packet(&rtcp, GST_RTCP_TYPE_RR, &packet);
  gst_rtcp_packet_rr_set_ssrc(&packet, 1);
  for (GstRTCPFBType type : feedback) {
    gst_rtcp_buffer_add_packet(&rtcp, GST_RTCP_TYPE_PSFB, &packet);
    gst_rtcp_packet_fb_set_type(&packet, type);
    gst_rtcp_packet_fb_set_sender_ssrc(&packet, 1);
    gst_rtcp_packet_fb_set_media_ssrc(&packet, 2);
    if (type == GST_RTCP_PSFB_TYPE_FIR) {  // one FCI entry: the SSRC and a sequence number
      gst_rtcp_packet_fb_set_fci_length(&packet, 2);
      guint8* fci = gst_rtcp_packet_fb_get_fci(&packet);
      std::memset(fci, 0, 8);
      fci[3] = 2;
    }
  }
  gst_rtcp_buffer_unmap(&rtcp);
  return buffer;
}

TEST(RtcpAsksForKeyFrame, APliOrAFirDoesAReceiverReportAloneDoesNot) {
  gst_init(nullptr, nullptr);
  struct Case {
    GstBuffer* buffer;
    bool asks;
  };
  for (auto [buffer, asks] :
       {Case{rtcp_with({}), false}, Case{rtcp_with({GST_RTCP_PSFB_TYPE_PLI}), true},
        Case{rtcp_with({GST_RTCP_PSFB_TYPE_FIR}), true},
        Case{rtcp_with({GST_RTCP_PSFB_TYPE_AFB}), false}}) {
    EXPECT_EQ(rtcp_asks_for_key_frame(buffer), asks);
    gst_buffer_unref(buffer);
  }
  const guint8 garbage[] = {0x81, 0xce, 0x00, 0x09, 1, 2, 3};  // a PSFB header, cut short
  GstBuffer* cut = gst_buffer_new_memdup(garbage, sizeof garbage);
  EXPECT_FALSE(rtcp_asks_for_key_frame(cut));
  gst_buffer_unref(cut);
}

}  // namespace
}  // namespace ithaca::streamer
