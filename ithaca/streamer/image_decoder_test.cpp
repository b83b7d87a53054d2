#include "ithaca/streamer/image_decoder.hpp"

#include <gtest/gtest.h>

#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {
namespace {

// A 4x2 PNG, every pixel RGB (200, 30, 40).
constexpr const char* kRedPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEElEQVR4nGM4IacBRwzIHAByyghxJO3fWAAAAABJRU5E"
    "rkJggg==";
// A valid 1x1 PNG whose header claims 100000 x 100000.
constexpr const char* kBombPng =
    "iVBORw0KGgoAAAANSUhEUgABhqAAAYagCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC";

class ImageDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init_gstreamer(); }
};

TEST_F(ImageDecoderTest, DecodesAPngDataUrlToRgb) {
  auto image = decode_image_data_url(std::string("data:image/png;base64,") + kRedPng);
  ASSERT_TRUE(image.ok()) << image.error().to_string();
  EXPECT_EQ(image->width, 4);
  EXPECT_EQ(image->height, 2);
  ASSERT_EQ(image->bytes.size(), 4u * 2 * 3);
  EXPECT_EQ(image->bytes[0], 200);
  EXPECT_EQ(image->bytes[1], 30);
  EXPECT_EQ(image->bytes[2], 40);
  EXPECT_EQ(image->bytes[23], 40);
}

TEST_F(ImageDecoderTest, RefusesADecompressionBombFromItsHeader) {
  auto image = decode_image_data_url(std::string("data:image/png;base64,") + kBombPng);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().code, ErrorCode::invalid_image);
  EXPECT_NE(image.error().detail.find("100000x100000"), std::string::npos);
}

TEST_F(ImageDecoderTest, RefusesWhatIsNotAnImageDataUrl) {
  for (const std::string url :
       {"", "hello", "data:text/plain;base64,aGVsbG8=", "data:image/png;base64,",
        "data:image/png;base64,!!!!",
        "data:image/png;base64,aGVsbG8gd29ybGQ=", "data:image/gif;base64,R0lGODlhAQABAAAAACw="}) {
    auto image = decode_image_data_url(url);
    ASSERT_FALSE(image.ok()) << url;
    EXPECT_EQ(image.error().code, ErrorCode::invalid_image) << url;
  }
}

TEST_F(ImageDecoderTest, ATruncatedPngFailsCleanly) {
  std::string png = kRedPng;
  png.resize(48);  // header intact, pixel data cut
  auto image = decode_image_data_url("data:image/png;base64," + png);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().code, ErrorCode::invalid_image);
}

TEST(ImageHeader, ReadsJpegFrameSize) {
  // SOI, an APP0 segment of length 4, then SOF0 declaring 480 x 640 (height, width).
  const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF,
                                0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03};
  auto h = read_image_header(std::string_view(reinterpret_cast<const char*>(jpeg), sizeof jpeg));
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(h->format, ImageHeader::Format::jpeg);
  EXPECT_EQ(h->width, 640);
  EXPECT_EQ(h->height, 480);
}

}  // namespace
}  // namespace ithaca::streamer
