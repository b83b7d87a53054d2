#include "ithaca/media/bitmap_font.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>

namespace ithaca::media {
namespace {

constexpr char kFirstPrintable = 0x20;
constexpr char kLastPrintable = 0x7E;
constexpr int kGlyphCount = kLastPrintable - kFirstPrintable + 1;

// The glyphs of 0x20..0x7E in order, as rows of 5 pixels ('#' ink, '.' not) separated by
// spaces, top first; rows left out at the end are blank. Checked and packed at compile time.
constexpr std::string_view kGlyphArt[kGlyphCount] = {
    /*   */ "",
    /* ! */ "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    /* " */ ".#.#. .#.#. .#.#.",
    /* # */ ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
    /* $ */ "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
    /* % */ "##..# ##..# ...#. ..#.. .#... #..## #..##",
    /* & */ ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
    /* ' */ "..#.. ..#.. ..#..",
    /* ( */ "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    /* ) */ ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    /* * */ "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
    /* + */ "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    /* , */ "..... ..... ..... ..... ..... .##.. ..#.. .#...",
    /* - */ "..... ..... ..... ##### ..... ..... .....",
    /* . */ "..... ..... ..... ..... ..... .##.. .##..",
    /* / */ "....# ...#. ...#. ..#.. .#... .#... #....",
    /* 0 */ ".###. #...# #..## #.#.# ##..# #...# .###.",
    /* 1 */ "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    /* 2 */ ".###. #...# ....# ...#. ..#.. .#... #####",
    /* 3 */ "##### ...#. ..#.. ...#. ....# #...# .###.",
    /* 4 */ "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    /* 5 */ "##### #.... ####. ....# ....# #...# .###.",
    /* 6 */ "..##. .#... #.... ####. #...# #...# .###.",
    /* 7 */ "##### ....# ...#. ..#.. .#... .#... .#...",
    /* 8 */ ".###. #...# #...# .###. #...# #...# .###.",
    /* 9 */ ".###. #...# #...# .#### ....# ...#. .##..",
    /* : */ "..... .##.. .##.. ..... .##.. .##.. .....",
    /* ; */ "..... .##.. .##.. ..... .##.. ..#.. .#...",
    /* < */ "...#. ..#.. .#... #.... .#... ..#.. ...#.",
    /* = */ "..... ..... ##### ..... ##### ..... .....",
    /* > */ ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
    /* ? */ ".###. #...# ....# ...#. ..#.. ..... ..#..",
    /* @ */ ".###. #...# ....# .##.# #.#.# #.#.# .###.",
    /* A */ ".###. #...# #...# ##### #...# #...# #...#",
    /* B */ "####. #...# #...# ####. #...# #...# ####.",
    /* C */ ".###. #...# #.... #.... #.... #...# .###.",
    /* D */ "###.. #..#. #...# #...# #...# #..#. ###..",
    /* E */ "##### #.... #.... ####. #.... #.... #####",
    /* F */ "##### #.... #.... ####. #.... #.... #....",
    /* G */ ".###. #...# #.... #.### #...# #...# .####",
    /* H */ "#...# #...# #...# ##### #...# #...# #...#",
    /* I */ ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    /* J */ "..### ...#. ...#. ...#. ...#. #..#. .##..",
    /* K */ "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    /* L */ "#.... #.... #.... #.... #.... #.... #####",
    /* M */ "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    /* N */ "#...# #...# ##..# #.#.# #..## #...# #...#",
    /* O */ ".###. #...# #...# #...# #...# #...# .###.",
    /* P */ "####. #...# #...# ####. #.... #.... #....",
    /* Q */ ".###. #...# #...# #...# #.#.# #..#. .##.#",
    /* R */ "####. #...# #...# ####. #.#.. #..#. #...#",
    /* S */ ".#### #.... #.... .###. ....# ....# ####.",
    /* T */ "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    /* U */ "#...# #...# #...# #...# #...# #...# .###.",
    /* V */ "#...# #...# #...# #...# #...# .#.#. ..#..",
    /* W */ "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    /* X */ "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    /* Y */ "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    /* Z */ "##### ....# ...#. ..#.. .#... #.... #####",
    /* [ */ ".###. .#... .#... .#... .#... .#... .###.",
    /* \ */ "#.... .#... .#... ..#.. ...#. ...#. ....#",
    /* ] */ ".###. ...#. ...#. ...#. ...#. ...#. .###.",
    /* ^ */ "..#.. .#.#. #...#",
    /* _ */ "..... ..... ..... ..... ..... ..... ..... #####",
    /* ` */ ".#... ..#.. ...#.",
    /* a */ "..... ..... .###. ....# .#### #...# .####",
    /* b */ "#.... #.... #.##. ##..# #...# #...# ####.",
    /* c */ "..... ..... .###. #.... #.... #...# .###.",
    /* d */ "....# ....# .##.# #..## #...# #...# .####",
    /* e */ "..... ..... .###. #...# ##### #.... .###.",
    /* f */ "..##. .#..# .#... ###.. .#... .#... .#...",
    /* g */ "..... ..... .#### #...# #...# #...# .#### ....# .###.",
    /* h */ "#.... #.... #.##. ##..# #...# #...# #...#",
    /* i */ "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
    /* j */ "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",
    /* k */ "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
    /* l */ ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    /* m */ "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",
    /* n */ "..... ..... #.##. ##..# #...# #...# #...#",
    /* o */ "..... ..... .###. #...# #...# #...# .###.",
    /* p */ "..... ..... ####. #...# #...# #...# ####. #.... #....",
    /* q */ "..... ..... .#### #...# #...# #...# .#### ....# ....#",
    /* r */ "..... ..... #.##. ##..# #.... #.... #....",
    /* s */ "..... ..... .#### #.... .###. ....# ####.",
    /* t */ ".#... .#... ###.. .#... .#... .#..# ..##.",
    /* u */ "..... ..... #...# #...# #...# #..## .##.#",
    /* v */ "..... ..... #...# #...# #...# .#.#. ..#..",
    /* w */ "..... ..... #...# #...# #.#.# #.#.# .#.#.",
    /* x */ "..... ..... #...# .#.#. ..#.. .#.#. #...#",
    /* y */ "..... ..... #...# #...# #...# #...# .#### ....# .###.",
    /* z */ "..... ..... ##### ...#. ..#.. .#... #####",
    /* { */ "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",
    /* | */ "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    /* } */ ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",
    /* ~ */ "..... ..... .#... #.#.# ...#. ..... .....",
};

using Glyph = std::array<uint8_t, kGlyphHeight>;

// Packs the art; a malformed glyph throws, which at compile time is a compile error.
consteval std::array<Glyph, kGlyphCount> pack_glyphs() {
  std::array<Glyph, kGlyphCount> glyphs{};
  for (int g = 0; g < kGlyphCount; ++g) {
    const std::string_view art = kGlyphArt[g];
    int row = 0;
    std::size_t i = 0;
    while (i < art.size()) {
      if (row == kGlyphHeight || i + kGlyphWidth > art.size()) {
        throw std::logic_error("glyph art: too many rows or a short row");
      }
      uint8_t bits = 0;
      for (int x = 0; x < kGlyphWidth; ++x, ++i) {
        if (art[i] != '#' && art[i] != '.') throw std::logic_error("glyph art: bad pixel");
        bits = static_cast<uint8_t>((bits << 1) | (art[i] == '#' ? 1 : 0));
      }
      glyphs[g][row++] = bits;
      if (i < art.size()) {
        if (art[i] != ' ') throw std::logic_error("glyph art: rows are 5 pixels");
        ++i;
      }
    }
  }
  return glyphs;
}

constexpr std::array<Glyph, kGlyphCount> kGlyphs = pack_glyphs();

bool printable(char c) {
  return c >= kFirstPrintable && c <= kLastPrintable;
}

}  // namespace

const Glyph& glyph_rows(char c) {
  if (!printable(c)) c = '?';
  return kGlyphs[c - kFirstPrintable];
}

std::string to_printable_ascii(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      out += printable(static_cast<char>(b))         ? static_cast<char>(b)
             : (b == '\t' || b == '\n' || b == '\r') ? ' '
                                                     : '?';
      ++i;
      continue;
    }
    // A multi-byte code point (lead byte and its continuation bytes) becomes one '?'; a stray
    // continuation byte or an invalid lead byte becomes one '?' by itself.
    std::size_t length = b >= 0xC2 && b <= 0xDF   ? 2
                         : b >= 0xE0 && b <= 0xEF ? 3
                         : b >= 0xF0 && b <= 0xF4 ? 4
                                                  : 1;
    std::size_t n = 1;
    while (n < length && i + n < utf8.size() &&
           (static_cast<unsigned char>(utf8[i + n]) & 0xC0) == 0x80) {
      ++n;
    }
    out += '?';
    i += n;
  }
  return out;
}

std::vector<std::string> wrap_text(std::string_view text, int columns, int max_lines) {
  std::vector<std::string> lines;
  if (columns <= 0 || max_lines <= 0) return lines;
  const auto width = static_cast<std::size_t>(columns);
  std::string line;
  // Ends the current line; false when that would make one line too many.
  auto next_line = [&] {
    if (static_cast<int>(lines.size()) + 1 == max_lines) return false;
    lines.push_back(std::move(line));
    line.clear();
    return true;
  };
  bool truncated = false;
  std::size_t i = 0;
  while (!truncated) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) break;
    std::size_t end = i;
    while (end < text.size() && text[end] != ' ') ++end;
    std::string_view word = text.substr(i, end - i);
    i = end;
    while (!word.empty() && !truncated) {
      if (line.empty()) {  // a word longer than a line is cut
        const std::size_t take = std::min(word.size(), width);
        line.assign(word.substr(0, take));
        word.remove_prefix(take);
        if (!word.empty()) truncated = !next_line();
      } else if (line.size() + 1 + word.size() <= width) {
        line += ' ';
        line.append(word);
        word = {};
      } else {
        truncated = !next_line();
      }
    }
  }
  if (truncated) {
    line.resize(width >= 3 ? std::min(line.size(), width - 3) : 0);
    line.append(std::string_view("...").substr(0, std::min<std::size_t>(3, width)));
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

TextMask render_text(const std::vector<std::string>& lines, int scale) {
  TextMask mask;
  if (scale <= 0 || lines.empty()) return mask;
  std::size_t longest = 0;
  for (const auto& line : lines) longest = std::max(longest, line.size());
  mask.width = static_cast<int>(longest) * kCellWidth * scale;
  mask.height = static_cast<int>(lines.size()) * kCellHeight * scale;
  mask.ink.assign(static_cast<std::size_t>(mask.width) * mask.height, 0);
  for (std::size_t l = 0; l < lines.size(); ++l) {
    for (std::size_t c = 0; c < lines[l].size(); ++c) {
      const Glyph& glyph = glyph_rows(lines[l][c]);
      const int left = static_cast<int>(c) * kCellWidth * scale;
      const int top = static_cast<int>(l) * kCellHeight * scale;
      for (int gy = 0; gy < kGlyphHeight; ++gy) {
        for (int gx = 0; gx < kGlyphWidth; ++gx) {
          if (((glyph[gy] >> (kGlyphWidth - 1 - gx)) & 1) == 0) continue;
          for (int sy = 0; sy < scale; ++sy) {
            uint8_t* row =
                mask.ink.data() + static_cast<std::size_t>(top + gy * scale + sy) * mask.width;
            std::fill_n(row + left + gx * scale, scale, uint8_t{1});
          }
        }
      }
    }
  }
  return mask;
}

}  // namespace ithaca::media
