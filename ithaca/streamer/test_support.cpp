#include "ithaca/streamer/test_support.hpp"

#include <gst/app/gstappsink.h>
#include <gtest/gtest.h>

#include <cstring>

namespace ithaca::streamer::testing {

EncodedFrames::~EncodedFrames() {
  if (caps) gst_caps_unref(caps);
}

void encode_frames(const EncoderSettings& settings, int count, EncodedFrames& out) {
  init_gstreamer();
  auto fragment = encoder_fragment(settings);
  ASSERT_TRUE(fragment);
  const std::string description = "videotestsrc num-buffers=" + std::to_string(count) +
                                  " ! video/x-raw,format=I420,width=320,height=180,framerate=30/1"
                                  " ! " +
                                  *fragment + " ! appsink name=out sync=false";
  GError* error = nullptr;
  GstPtr<GstElement> pipeline(gst_parse_launch(description.c_str(), &error));
  ASSERT_EQ(error, nullptr) << error->message;
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "out"));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink.get()))) {
    if (!out.caps) out.caps = gst_caps_ref(gst_sample_get_caps(sample));
    out.frames.emplace_back(gst_buffer_ref(gst_sample_get_buffer(sample)));
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  ASSERT_EQ(out.frames.size(), static_cast<size_t>(count));
}

LibSrtp::LibSrtp(const std::vector<uint8_t>& master, bool outbound, bool tag80) : key_(master) {
  static const bool initialised = srtp_init() == srtp_err_status_ok;
  EXPECT_TRUE(initialised);
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  if (tag80) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
  }
  srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = key_.data();
  policy.window_size = 1024;
  EXPECT_EQ(srtp_create(&session_, &policy), srtp_err_status_ok);
}

LibSrtp::~LibSrtp() {
  srtp_dealloc(session_);
}

std::vector<uint8_t> LibSrtp::protect(std::vector<uint8_t> packet) {
  int size = static_cast<int>(packet.size());
  packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN);
  EXPECT_EQ(srtp_protect(session_, packet.data(), &size), srtp_err_status_ok);
  packet.resize(static_cast<size_t>(size));
  return packet;
}

bool LibSrtp::unprotect(std::vector<uint8_t>& packet) {
  int size = static_cast<int>(packet.size());
  if (srtp_unprotect(session_, packet.data(), &size) != srtp_err_status_ok) return false;
  packet.resize(static_cast<size_t>(size));
  return true;
}

}  // namespace ithaca::streamer::testing
