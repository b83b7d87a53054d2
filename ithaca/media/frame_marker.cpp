#include "ithaca/media/frame_marker.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ithaca::media {
namespace {

// The part of a block the reader averages: its centre, 8 pixels in from the left and right and
// 4 from the top and bottom, so blur and ringing at the block edges never reach it.
constexpr int kSampleInsetX = 8;
constexpr int kSampleInsetY = 4;
constexpr int kFirstSequenceBlock = 2;
constexpr int kFirstCheckBlock = 18;

int scaled(int v, double scale) {
  return static_cast<int>(std::lround(v * scale));
}

}  // namespace

uint8_t marker_check_bits(uint16_t s) {
  return static_cast<uint8_t>((s ^ (s >> 4) ^ (s >> 8) ^ (s >> 12) ^ 0xA) & 0xF);
}

std::array<bool, kMarkerBlocks> marker_blocks(uint16_t sequence) {
  std::array<bool, kMarkerBlocks> blocks{};
  blocks[0] = true;
  blocks[1] = false;
  for (int b = 0; b < 16; ++b) {
    blocks[kFirstSequenceBlock + b] = ((sequence >> (15 - b)) & 1) != 0;
  }
  const uint8_t check = marker_check_bits(sequence);
  for (int b = 0; b < 4; ++b) blocks[kFirstCheckBlock + b] = ((check >> (3 - b)) & 1) != 0;
  return blocks;
}

bool draw_marker(VideoFrame& frame, uint16_t sequence) {
  if (frame.width < kMarkerWidth || frame.height < kMarkerBlockHeight) return false;
  const auto blocks = marker_blocks(sequence);
  uint8_t row[kMarkerWidth];
  for (int i = 0; i < kMarkerBlocks; ++i) {
    std::memset(row + i * kMarkerBlockWidth, blocks[i] ? kMarkerWhiteY : kMarkerBlackY,
                kMarkerBlockWidth);
  }
  for (int y = 0; y < kMarkerBlockHeight; ++y) {
    std::memcpy(frame.y() + static_cast<std::ptrdiff_t>(y) * frame.y_stride(), row, sizeof row);
  }
  for (int y = 0; y < kMarkerBlockHeight / 2; ++y) {
    const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(y) * frame.uv_stride();
    std::memset(frame.u() + offset, 128, kMarkerWidth / 2);
    std::memset(frame.v() + offset, 128, kMarkerWidth / 2);
  }
  return true;
}

std::optional<uint16_t> decode_marker(const uint8_t* pixels, int width, int height, int stride,
                                      MarkerPixels format, double scale) {
  if (pixels == nullptr || !(scale > 0.0)) return std::nullopt;
  const int bytes_per_pixel = format == MarkerPixels::rgba ? 4 : 1;
  const int y0 = scaled(kSampleInsetY, scale);
  const int y1 = scaled(kMarkerBlockHeight - kSampleInsetY, scale);
  if (y1 <= y0 || y1 > height || stride < width * bytes_per_pixel) return std::nullopt;

  // Real arithmetic from here on (the mean, threshold and margin are not rounded), as in the
  // JavaScript and Python readers: spec/vectors/frame_marker.json holds all three to it.
  double levels[kMarkerBlocks];
  for (int i = 0; i < kMarkerBlocks; ++i) {
    const int x0 = scaled(i * kMarkerBlockWidth + kSampleInsetX, scale);
    const int x1 = scaled((i + 1) * kMarkerBlockWidth - kSampleInsetX, scale);
    if (x1 <= x0 || x1 > width) return std::nullopt;
    int64_t sum = 0;
    for (int y = y0; y < y1; ++y) {
      const uint8_t* p = pixels + static_cast<std::ptrdiff_t>(y) * stride;
      if (format == MarkerPixels::rgba) {
        for (int x = x0; x < x1; ++x) {
          const uint8_t* px = p + x * 4;
          sum += (77 * px[0] + 150 * px[1] + 29 * px[2]) >> 8;
        }
      } else {
        for (int x = x0; x < x1; ++x) sum += p[x];
      }
    }
    levels[i] = static_cast<double>(sum) / (static_cast<double>(x1 - x0) * (y1 - y0));
  }

  const double white = levels[0];
  const double black = levels[1];
  if (white - black < kMarkerMinContrast) return std::nullopt;
  const double threshold = (white + black) / 2;
  const double margin = (white - black) / 4;
  uint32_t bits = 0;
  for (int i = kFirstSequenceBlock; i < kMarkerBlocks; ++i) {
    if (std::abs(levels[i] - threshold) < margin) return std::nullopt;
    bits = (bits << 1) | (levels[i] > threshold ? 1u : 0u);
  }
  const auto sequence = static_cast<uint16_t>(bits >> 4);
  if ((bits & 0xF) != marker_check_bits(sequence)) return std::nullopt;
  return sequence;
}

}  // namespace ithaca::media
