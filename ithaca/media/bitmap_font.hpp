// A small bitmap font for printable ASCII (0x20..0x7E), drawn for this project: each glyph is
// 5x9 pixels (7 rows above the baseline, 2 below for descenders) in a 6x10 cell. Frame sources
// use it to write prompts and labels on frames; text is turned into an ink mask once per prompt,
// so a frame only copies it. Pure functions and constant data; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ithaca::media {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 9;
inline constexpr int kCellWidth = kGlyphWidth + 1;    // one column of spacing
inline constexpr int kCellHeight = kGlyphHeight + 1;  // one row of spacing

// The rows of the glyph of `c`, top first; in each, bit (kGlyphWidth - 1 - x) is set when the
// pixel in column x is ink. A character outside 0x20..0x7E gets the glyph of '?'.
const std::array<uint8_t, kGlyphHeight>& glyph_rows(char c);

// UTF-8 text as printable ASCII, one character per code point: tab, CR and LF become spaces,
// every other code point outside 0x20..0x7E (and every malformed byte) becomes '?'.
std::string to_printable_ascii(std::string_view utf8);

// Greedy word wrap of printable ASCII into lines of at most `columns` characters (longer words
// are cut), runs of spaces collapsed. When more than `max_lines` lines would be needed, the last
// line ends with "...".
std::vector<std::string> wrap_text(std::string_view text, int columns, int max_lines);

// Lines of text as an ink mask, one byte a pixel (1 = ink, 0 = not), each glyph pixel drawn as a
// scale x scale square: width = longest line * kCellWidth * scale, height = lines *
// kCellHeight * scale. Characters outside printable ASCII are drawn as '?'.
struct TextMask {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> ink;
};
TextMask render_text(const std::vector<std::string>& lines, int scale);

}  // namespace ithaca::media
