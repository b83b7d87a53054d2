#include "ithaca/media/bitmap_font.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <set>

namespace ithaca::media {
namespace {

TEST(BitmapFont, EveryPrintableGlyphIsDistinctAndInked) {
  std::set<std::array<uint8_t, kGlyphHeight>> seen;
  for (char c = 0x21; c <= 0x7E; ++c) {
    const auto& rows = glyph_rows(c);
    int ink = 0;
    for (uint8_t r : rows) {
      EXPECT_EQ(r >> kGlyphWidth, 0) << c;  // no pixel outside the 5 columns
      ink += std::popcount(r);
    }
    EXPECT_GT(ink, 0) << c;
    EXPECT_TRUE(seen.insert(rows).second) << "glyph of '" << c << "' repeats another";
  }
  for (uint8_t r : glyph_rows(' ')) EXPECT_EQ(r, 0);
}

TEST(BitmapFont, NonPrintableCharactersUseTheQuestionMark) {
  EXPECT_EQ(glyph_rows('\x01'), glyph_rows('?'));
  EXPECT_EQ(glyph_rows('\x7F'), glyph_rows('?'));
  EXPECT_EQ(glyph_rows(static_cast<char>(0xE9)), glyph_rows('?'));
}

TEST(BitmapFont, ToPrintableAsciiOneCharacterPerCodePoint) {
  EXPECT_EQ(to_printable_ascii("a quiet harbour at dawn"), "a quiet harbour at dawn");
  EXPECT_EQ(to_printable_ascii("caf\xC3\xA9"), "caf?");        // e-acute: 2 bytes
  EXPECT_EQ(to_printable_ascii("\xE2\x98\x95 tea"), "? tea");  // hot beverage: 3
  EXPECT_EQ(to_printable_ascii("\xF0\x9F\x8C\x8A!"), "?!");    // water wave: 4
  EXPECT_EQ(to_printable_ascii("a\tb\nc\rd"), "a b c d");
  EXPECT_EQ(to_printable_ascii(std::string("x\0y", 3)), "x?y");
  EXPECT_EQ(to_printable_ascii("\x80\xFF"), "??");  // stray bytes
  EXPECT_EQ(to_printable_ascii("\xC3"), "?");       // cut short
  EXPECT_EQ(to_printable_ascii("\xE2\x98z"), "?z");
}

TEST(BitmapFont, WrapTextByWords) {
  using Lines = std::vector<std::string>;
  EXPECT_EQ(wrap_text("", 10, 3), Lines{});
  EXPECT_EQ(wrap_text("   ", 10, 3), Lines{});
  EXPECT_EQ(wrap_text("a red fox", 10, 3), Lines{"a red fox"});
  EXPECT_EQ(wrap_text("the quick brown fox jumps", 10, 3),
            (Lines{"the quick", "brown fox", "jumps"}));
  EXPECT_EQ(wrap_text("  many   spaces  here ", 20, 3), Lines{"many spaces here"});
  EXPECT_EQ(wrap_text("abcdefghijklmnop", 6, 3), (Lines{"abcdef", "ghijkl", "mnop"}));
  EXPECT_EQ(wrap_text("one two three four five six seven", 9, 2), (Lines{"one two", "three..."}));
  EXPECT_EQ(wrap_text("abcdefghijklmnopqrstuvwxyz", 5, 2), (Lines{"abcde", "fg..."}));
  EXPECT_EQ(wrap_text("exactly fits", 12, 1), Lines{"exactly fits"});
  EXPECT_EQ(wrap_text("exactly fits not", 12, 1), Lines{"exactly f..."});
  EXPECT_EQ(wrap_text("abc", 0, 3), Lines{});
}

TEST(BitmapFont, RenderTextSizesAndInk) {
  const TextMask empty = render_text({}, 2);
  EXPECT_EQ(empty.width, 0);
  const TextMask mask = render_text({"Hi", "a"}, 2);
  EXPECT_EQ(mask.width, 2 * kCellWidth * 2);
  EXPECT_EQ(mask.height, 2 * kCellHeight * 2);
  ASSERT_EQ(mask.ink.size(), static_cast<std::size_t>(mask.width * mask.height));
  // 'H' has ink in its top-left pixel, drawn as a 2x2 square.
  EXPECT_EQ(mask.ink[0], 1);
  EXPECT_EQ(mask.ink[1], 1);
  EXPECT_EQ(mask.ink[mask.width], 1);
  EXPECT_EQ(mask.ink[mask.width + 1], 1);
  // The spacing column between the cells is empty.
  for (int y = 0; y < mask.height; ++y) EXPECT_EQ(mask.ink[y * mask.width + 10], 0);
}

}  // namespace
}  // namespace ithaca::media
