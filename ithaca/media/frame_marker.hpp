// The frame marker: the prompt sequence number (frame_source.hpp) drawn on every frame as big
// black and white blocks, so a client that decodes the video can tell which prompt a frame
// answers, and measure prompt-to-photon latency, with no side channel. Any source's frames can
// carry it: the streamer may stamp it on a world model's frames too. Pure functions; thread-safe.
//
// Layout (the browser test implements the reader in JavaScript from this paragraph):
//   - In both orientations the marker covers the top-left corner of the frame, pixels
//     x in [0, 704), y in [0, 16): 22 blocks side by side, block i covering x in [32i, 32i + 32).
//     Blocks are whole H.264 macroblocks (16-pixel grid), which keeps them crisp at 2.5 Mbit/s.
//   - Block 0 is always white and block 1 always black: the reader's reference levels.
//   - Blocks 2..17 are the 16 bits of the sequence number s, most significant first
//     (block 2 = bit 15, block 17 = bit 0). White = 1, black = 0.
//   - Blocks 18..21 are 4 check bits c, most significant first, where
//     c = (s ^ (s >> 4) ^ (s >> 8) ^ (s >> 12) ^ 0xA) & 0xF.
//   - White is Y 235 and black is Y 16 (BT.601 limited range: RGB 255 and 0 once decoded),
//     chroma is neutral (U = V = 128), so the blocks are grey in RGB.
// Reading:
//   - Luma of an RGBA pixel: (77 R + 150 G + 29 B) >> 8.
//   - Level of block i: the mean luma over its centre, x in [32i + 8, 32i + 24), y in [4, 12).
//     A frame that was scaled by a factor k (decoded width / 1280 in landscape, / 704 in
//     portrait) is read with every coordinate multiplied by k, rounded to the nearest integer,
//     halves up (2.5 is 3); no marker when a centre is then empty or does not fit the picture.
//   - white = level 0, black = level 1; no marker when white - black < 64.
//   - threshold = (white + black) / 2; a block is 1 above it and 0 below it; no marker when a
//     level lies within (white - black) / 4 of the threshold (an ambiguous, blurred or covered
//     block), or when the check bits do not match the sequence bits. Levels, threshold and
//     margin are real numbers, never rounded.
//   spec/vectors/frame_marker.json holds the C++ and Python readers to these rules.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "ithaca/media/frame_source.hpp"

namespace ithaca::media {

inline constexpr int kMarkerBlockWidth = 32;
inline constexpr int kMarkerBlockHeight = 16;
inline constexpr int kMarkerBlocks = 22;  // 2 reference + 16 sequence + 4 check
inline constexpr int kMarkerWidth = kMarkerBlocks * kMarkerBlockWidth;  // 704: the portrait width
inline constexpr uint8_t kMarkerWhiteY = 235;
inline constexpr uint8_t kMarkerBlackY = 16;
// The least white - black difference a reader accepts: under a third of the 219 drawn, so heavy
// compression or blur still reads, while a frame with no marker (flat or natural) rarely passes.
inline constexpr int kMarkerMinContrast = 64;

// The 4 check bits of a sequence number.
uint8_t marker_check_bits(uint16_t sequence);
// The colour of each block, true = white.
std::array<bool, kMarkerBlocks> marker_blocks(uint16_t sequence);

// Draws the marker of `sequence` into a frame at least kMarkerWidth x kMarkerBlockHeight (both
// stream sizes are); false, drawing nothing, for a smaller frame.
bool draw_marker(VideoFrame& frame, uint16_t sequence);

enum class MarkerPixels {
  luma,  // 1 byte per pixel (an I420 Y plane)
  rgba,  // 4 bytes per pixel, R G B A (a canvas ImageData)
};

// Reads the marker from a picture whose rows are `stride` bytes apart; nullopt when there is no
// readable marker (see Reading above). `scale` is the factor the frame was scaled by.
std::optional<uint16_t> decode_marker(const uint8_t* pixels, int width, int height, int stride,
                                      MarkerPixels format, double scale = 1.0);

}  // namespace ithaca::media
