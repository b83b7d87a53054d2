#include "ithaca/streamer/encoder.hpp"

#include <gtest/gtest.h>

#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {
namespace {

TEST(Encoder, EveryEncoderBuildsAPipelineThatParses) {
  init_gstreamer();
  for (const auto& name : encoder_names()) {
    ASSERT_TRUE(check_elements(name).ok()) << name;
    EncoderSettings settings;
    settings.name = name;
    auto description = encoder_pipeline(settings);
    ASSERT_TRUE(description.ok()) << name;
    GError* error = nullptr;
    GstElement* bin = gst_parse_launch(
        ("videotestsrc num-buffers=1 ! " + *description + " ! fakesink").c_str(), &error);
    EXPECT_EQ(error, nullptr) << name << ": " << (error ? error->message : "");
    if (error) g_error_free(error);
    if (bin) gst_object_unref(bin);
  }
}

TEST(Encoder, AnUnknownEncoderIsAConfigError) {
  EncoderSettings settings;
  settings.name = "h266";
  auto description = encoder_pipeline(settings);
  ASSERT_FALSE(description.ok());
  EXPECT_EQ(description.error().code, ErrorCode::config_invalid);
}

TEST(GstSupport, AMissingElementIsNamedWithItsPackage) {
  auto required = required_elements("x264");
  bool has_webrtc = false;
  for (const auto& e : required) has_webrtc |= e.factory == "webrtcbin";
  EXPECT_TRUE(has_webrtc);
  EXPECT_TRUE(check_elements("x264").ok());
}

}  // namespace
}  // namespace ithaca::streamer
