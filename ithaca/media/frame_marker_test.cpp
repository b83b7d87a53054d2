// The marker's round trip: drawn into an I420 frame, read back from luma and from RGBA, also
// after noise, blur and a 2x downscale; and the ways a reader must refuse.
#include "ithaca/media/frame_marker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace ithaca::media {
namespace {

const uint16_t kSequences[] = {0, 1, 2, 0x00FF, 0x1234, 0x8000, 0xA5A5, 0x5A5A, 0xFFFE, 0xFFFF};

// A frame with a textured background (a diagonal ramp), so the marker is not on a flat field.
VideoFrame textured_frame(int width, int height) {
  VideoFrame f;
  f.resize(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) f.y()[y * width + x] = static_cast<uint8_t>(16 + (x + y) % 220);
  }
  std::fill(f.u(), f.data.data() + f.data.size(), uint8_t{90});
  return f;
}

std::optional<uint16_t> read_luma(const std::vector<uint8_t>& luma, int width, int height,
                                  double scale = 1.0) {
  return decode_marker(luma.data(), width, height, width, MarkerPixels::luma, scale);
}

std::vector<uint8_t> luma_of(const VideoFrame& f) {
  return {f.y(), f.y() + static_cast<std::size_t>(f.width) * f.height};
}

// Box blur with the given radius, clamped at the edges.
std::vector<uint8_t> box_blur(const std::vector<uint8_t>& in, int width, int height, int radius) {
  std::vector<uint8_t> out(in.size());
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int sum = 0, n = 0;
      for (int dy = -radius; dy <= radius; ++dy) {
        for (int dx = -radius; dx <= radius; ++dx) {
          const int sx = std::clamp(x + dx, 0, width - 1), sy = std::clamp(y + dy, 0, height - 1);
          sum += in[sy * width + sx];
          ++n;
        }
      }
      out[y * width + x] = static_cast<uint8_t>(sum / n);
    }
  }
  return out;
}

TEST(FrameMarker, CheckBitsAndBlockOrder) {
  EXPECT_EQ(marker_check_bits(0), 0xA);
  EXPECT_EQ(marker_check_bits(0x1234), (0x1 ^ 0x2 ^ 0x3 ^ 0x4 ^ 0xA));
  const auto blocks = marker_blocks(0x8001);
  EXPECT_TRUE(blocks[0]);                           // white reference
  EXPECT_FALSE(blocks[1]);                          // black reference
  EXPECT_TRUE(blocks[2]);                           // bit 15
  EXPECT_FALSE(blocks[3]);                          // bit 14
  EXPECT_TRUE(blocks[17]);                          // bit 0
  const uint8_t check = marker_check_bits(0x8001);  // 8 ^ 1 ^ A = 3: 0011
  EXPECT_EQ(check, 0x3);
  EXPECT_FALSE(blocks[18]);
  EXPECT_FALSE(blocks[19]);
  EXPECT_TRUE(blocks[20]);
  EXPECT_TRUE(blocks[21]);
}

TEST(FrameMarker, DrawsExactLevelsAndNeutralChroma) {
  VideoFrame f = textured_frame(kLandscapeWidth, kLandscapeHeight);
  ASSERT_TRUE(draw_marker(f, 0x8001));
  EXPECT_EQ(f.y()[0], kMarkerWhiteY);
  EXPECT_EQ(f.y()[15 * f.width + 31], kMarkerWhiteY);
  EXPECT_EQ(f.y()[32], kMarkerBlackY);
  EXPECT_EQ(f.y()[64], kMarkerWhiteY);                      // bit 15
  EXPECT_EQ(f.y()[16 * f.width], 16 + 16 % 220);            // the row below is untouched
  EXPECT_EQ(f.y()[kMarkerWidth], 16 + kMarkerWidth % 220);  // so is the column right of it
  EXPECT_EQ(f.u()[0], 128);
  EXPECT_EQ(f.v()[7 * f.uv_stride() + kMarkerWidth / 2 - 1], 128);
  EXPECT_EQ(f.u()[8 * f.uv_stride()], 90);
}

TEST(FrameMarker, RoundTripLumaBothOrientations) {
  for (const bool portrait : {false, true}) {
    const StreamFormat format = stream_format(portrait);
    for (const uint16_t s : kSequences) {
      VideoFrame f = textured_frame(format.width, format.height);
      ASSERT_TRUE(draw_marker(f, s));
      EXPECT_EQ(read_luma(luma_of(f), f.width, f.height), s) << s << " portrait " << portrait;
    }
  }
}

TEST(FrameMarker, RoundTripRgbaFullRange) {
  VideoFrame f = textured_frame(kLandscapeWidth, kLandscapeHeight);
  for (const uint16_t s : kSequences) {
    ASSERT_TRUE(draw_marker(f, s));
    // What a browser's canvas holds: RGB from limited-range Y with neutral chroma, alpha 255.
    std::vector<uint8_t> rgba(static_cast<std::size_t>(f.width) * f.height * 4);
    for (int i = 0; i < f.width * f.height; ++i) {
      const auto g = static_cast<uint8_t>(std::clamp((f.y()[i] - 16) * 255 / 219, 0, 255));
      rgba[i * 4 + 0] = g;
      rgba[i * 4 + 1] = g;
      rgba[i * 4 + 2] = g;
      rgba[i * 4 + 3] = 255;
    }
    EXPECT_EQ(decode_marker(rgba.data(), f.width, f.height, f.width * 4, MarkerPixels::rgba), s);
  }
}

TEST(FrameMarker, SurvivesNoise) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(-20, 20);
  for (const uint16_t s : kSequences) {
    VideoFrame f = textured_frame(kLandscapeWidth, kLandscapeHeight);
    ASSERT_TRUE(draw_marker(f, s));
    std::vector<uint8_t> luma = luma_of(f);
    for (auto& p : luma) p = static_cast<uint8_t>(std::clamp(p + noise(rng), 0, 255));
    EXPECT_EQ(read_luma(luma, f.width, f.height), s) << s;
  }
}

TEST(FrameMarker, SurvivesBlur) {
  // Only the top rows matter; blurring a 720x40 crop keeps the test fast.
  constexpr int kWidth = 720, kHeight = 40;
  for (const uint16_t s : kSequences) {
    VideoFrame f = textured_frame(kWidth, kHeight);
    ASSERT_TRUE(draw_marker(f, s));
    const std::vector<uint8_t> once = box_blur(luma_of(f), kWidth, kHeight, 1);
    const std::vector<uint8_t> twice = box_blur(once, kWidth, kHeight, 1);  // a 2x box blur
    EXPECT_EQ(read_luma(twice, kWidth, kHeight), s) << s;
    const std::vector<uint8_t> wide = box_blur(luma_of(f), kWidth, kHeight, 4);  // 9x9
    EXPECT_EQ(read_luma(wide, kWidth, kHeight), s) << s;
  }
}

TEST(FrameMarker, ReadsAHalfSizeFrameWithScale) {
  for (const uint16_t s : kSequences) {
    VideoFrame f = textured_frame(kLandscapeWidth, kLandscapeHeight);
    ASSERT_TRUE(draw_marker(f, s));
    // 2x2 box downscale, as a receiver that lowered the resolution would see it.
    const int w = f.width / 2, h = f.height / 2;
    std::vector<uint8_t> half(static_cast<std::size_t>(w) * h);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const uint8_t* p = f.y() + 2 * y * f.width + 2 * x;
        half[y * w + x] = static_cast<uint8_t>((p[0] + p[1] + p[f.width] + p[f.width + 1]) / 4);
      }
    }
    EXPECT_EQ(read_luma(half, w, h, 0.5), s) << s;
  }
}

TEST(FrameMarker, RefusesWhatIsNotAMarker) {
  VideoFrame f = textured_frame(kLandscapeWidth, kLandscapeHeight);
  std::fill(f.y(), f.y() + f.width * f.height, uint8_t{128});
  EXPECT_EQ(read_luma(luma_of(f), f.width, f.height), std::nullopt);  // flat: no contrast

  ASSERT_TRUE(draw_marker(f, 0x1234));
  std::vector<uint8_t> flipped = luma_of(f);
  // Flip bit 0 (block 17): the check bits no longer match.
  for (int y = 0; y < kMarkerBlockHeight; ++y) {
    for (int x = 17 * 32; x < 18 * 32; ++x) {
      flipped[y * f.width + x] = flipped[y * f.width + x] == kMarkerWhiteY ? 16 : 235;
    }
  }
  EXPECT_EQ(read_luma(flipped, f.width, f.height), std::nullopt);

  std::vector<uint8_t> grey = luma_of(f);  // a block covered by mid grey is ambiguous
  for (int y = 0; y < kMarkerBlockHeight; ++y) std::fill_n(&grey[y * f.width + 5 * 32], 32, 126);
  EXPECT_EQ(read_luma(grey, f.width, f.height), std::nullopt);
}

TEST(FrameMarker, SmallOrBadBuffersAreRefusedNotRead) {
  VideoFrame small = textured_frame(640, 360);
  EXPECT_FALSE(draw_marker(small, 5));
  EXPECT_EQ(read_luma(luma_of(small), 640, 360), std::nullopt);
  const std::vector<uint8_t> strip(kMarkerWidth * 8, 200);  // too few rows
  EXPECT_EQ(read_luma(strip, kMarkerWidth, 8), std::nullopt);
  EXPECT_EQ(decode_marker(nullptr, 1280, 704, 1280, MarkerPixels::luma), std::nullopt);
  VideoFrame f = textured_frame(kLandscapeWidth, kLandscapeHeight);
  ASSERT_TRUE(draw_marker(f, 9));
  EXPECT_EQ(read_luma(luma_of(f), f.width, f.height, 0.0), std::nullopt);
  EXPECT_EQ(decode_marker(f.y(), f.width, f.height, 100, MarkerPixels::luma), std::nullopt);
}

// spec/vectors/frame_marker.json, which the Python reader passes too: each case's picture,
// painted as RGBA and as its luma, decodes to the sequence the case expects (or to none).
TEST(FrameMarker, MatchesSharedVectors) {
  std::ifstream in(std::string(ITHACA_SOURCE_DIR) + "/spec/vectors/frame_marker.json");
  ASSERT_TRUE(in.good()) << "spec/vectors/frame_marker.json";
  const auto doc = nlohmann::json::parse(in);
  ASSERT_GE(doc["cases"].size(), 20u);
  for (const auto& c : doc["cases"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    const int width = c["width"].get<int>();
    const int height = c["height"].get<int>();
    std::vector<uint8_t> rgba(static_cast<std::size_t>(width) * height * 4);
    auto paint = [&](int x0, int y0, int w, int h, const nlohmann::json& rgb) {
      for (int y = std::max(0, y0); y < std::min(height, y0 + h); ++y) {
        for (int x = std::max(0, x0); x < std::min(width, x0 + w); ++x) {
          uint8_t* px = &rgba[(static_cast<std::size_t>(y) * width + x) * 4];
          for (int k = 0; k < 3; ++k) px[k] = rgb[k].get<uint8_t>();
          px[3] = 255;
        }
      }
    };
    paint(0, 0, width, height, c["fill"]);
    for (const auto& r : c["rects"]) {
      paint(r["x"].get<int>(), r["y"].get<int>(), r["w"].get<int>(), r["h"].get<int>(), r["rgb"]);
    }
    std::vector<uint8_t> luma(static_cast<std::size_t>(width) * height);
    for (std::size_t i = 0; i < luma.size(); ++i) {
      const uint8_t* px = &rgba[i * 4];
      luma[i] = static_cast<uint8_t>((77 * px[0] + 150 * px[1] + 29 * px[2]) >> 8);
    }
    const std::optional<uint16_t> want =
        c["expect"].is_null() ? std::nullopt : std::optional<uint16_t>(c["expect"].get<int>());
    const double scale = c["scale"].get<double>();
    EXPECT_EQ(decode_marker(rgba.data(), width, height, width * 4, MarkerPixels::rgba, scale),
              want);
    EXPECT_EQ(decode_marker(luma.data(), width, height, width, MarkerPixels::luma, scale), want);
  }
}

}  // namespace
}  // namespace ithaca::media
