#include "ithaca/media/procedural_world.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "ithaca/media/bitmap_font.hpp"
#include "ithaca/media/frame_marker.hpp"

namespace ithaca::media {
namespace detail {

// A wave over one coordinate p, in palette steps: amplitude * sin(2 pi * phase / kSineSteps),
// phase = (p * step >> 16) + t * speed + offset. step is 16.16 sine-table steps per pixel, speed
// table steps per frame. All integer; uint32_t wrap-around is harmless because 2^32 is a
// multiple of the table size.
struct Wave {
  int amplitude = 0;
  uint32_t step = 0;
  uint32_t speed = 0;
  uint32_t offset = 0;
};

// A filled shape moving on a Lissajous path; its outline is a table of half-widths per row.
struct Shape {
  int cx = 0, cy = 0;                                             // centre of the path
  int ax = 0, ay = 0;                                             // amplitude of the path
  uint32_t speed_x = 0, speed_y = 0, offset_x = 0, offset_y = 0;  // sine-table steps
  int radius = 0;
  std::vector<int16_t> half_width;  // row dy + radius -> half of the span, -1 for none
  uint8_t y = 0, u = 0, v = 0;
};

// Text over the scene: a darkened box (the text's mask with padding) with the ink in white.
struct Overlay {
  int x = 0, y = 0, width = 0, height = 0;
  std::vector<uint8_t> ink;
};

struct WorldScene {
  int width = 0, height = 0;
  uint16_t sequence = 0;
  std::string prompt;
  std::array<uint8_t, 256> pal_y{}, pal_u{}, pal_v{};  // a cyclic palette
  Wave columns, rows, diagonal;  // background index = columns(x) + rows(y) + diagonal(x +- y)
  bool diagonal_rises = false;   // the diagonal wave runs along x + y, else along x - y
  uint32_t palette_speed = 0;    // palette rotation in 1/256 steps per frame
  std::vector<Shape> shapes;
  std::shared_ptr<const VideoFrame> background;  // start image, or null for the waves
  Overlay label, caption;
};

struct WorldScratch {
  std::vector<uint8_t> columns;        // columns(x) this frame, mod 256
  std::vector<uint8_t> diagonal;       // diagonal(k) this frame for k in [0, width + height)
  std::vector<uint8_t> half_columns;   // columns(2x), for chroma
  std::vector<uint8_t> half_diagonal;  // diagonal(2k), for chroma and even luma rows offsets
  std::vector<uint8_t> odd_diagonal;   // diagonal(2k + 1), for odd offsets
  std::vector<uint8_t> index;          // one row of palette indices
  std::vector<uint8_t> half_row;       // one row of luma at half width, before doubling
};

}  // namespace detail

namespace {

using detail::Overlay;
using detail::Shape;
using detail::Wave;
using detail::WorldScene;

constexpr int kSineSteps = 1024;  // one turn; a power of two so phases wrap with a mask
constexpr int kSineOne = 256;     // sine table values are Q8
constexpr int kMaxFrameRate = 240;
// Text is drawn with each font pixel as a 2x2 square: 12x20 pixel cells, readable after H.264
// at 2.5 Mbit/s.
constexpr int kTextScale = 2;
constexpr int kTextPadding = 6;   // darkened margin around text
constexpr int kFrameMargin = 16;  // between the caption box and the frame edge
constexpr int kCaptionLines = 3;
constexpr uint8_t kInkY = 235;

const std::array<int16_t, kSineSteps>& sine_table() {
  static const std::array<int16_t, kSineSteps> table = [] {
    std::array<int16_t, kSineSteps> t{};
    for (int i = 0; i < kSineSteps; ++i) {
      t[i] = static_cast<int16_t>(
          std::lround(kSineOne * std::sin(2 * std::numbers::pi * i / kSineSteps)));
    }
    return t;
  }();
  return table;
}

inline int sine(uint32_t phase) {
  return sine_table()[phase & (kSineSteps - 1)];
}

inline uint32_t time_phase(int64_t t, uint32_t speed) {
  return static_cast<uint32_t>(static_cast<uint64_t>(t) * speed);
}

// SplitMix64 over an FNV-1a hash of the prompt: the scene's only source of variety.
class SceneRandom {
 public:
  explicit SceneRandom(std::string_view text) {
    state_ = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) state_ = (state_ ^ c) * 0x100000001b3ULL;
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  int range(int lo, int hi) { return lo + static_cast<int>(next() % (hi - lo + 1)); }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }

 private:
  uint64_t state_;
};

struct Yuv {
  uint8_t y, u, v;
};

// BT.601 limited range, the integer form every encoder uses.
inline Yuv rgb_to_yuv(int r, int g, int b) {
  return {static_cast<uint8_t>(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16),
          static_cast<uint8_t>(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128),
          static_cast<uint8_t>(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128)};
}

std::array<double, 3> hsv_to_rgb(double h, double s, double v) {
  h = (h - std::floor(h)) * 6;
  const int sector = static_cast<int>(h) % 6;
  const double f = h - std::floor(h);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0:
      return {v, t, p};
    case 1:
      return {q, v, p};
    case 2:
      return {p, v, t};
    case 3:
      return {p, q, v};
    case 4:
      return {t, p, v};
    default:
      return {v, p, q};
  }
}

// Three anchor colours around the hue circle, alternating dark and bright so the waves show as
// bands, blended smoothly into a 256-entry cyclic palette.
void build_palette(SceneRandom& rnd, WorldScene& scene) {
  constexpr int kAnchors = 3;
  std::array<std::array<double, 3>, kAnchors> anchors;
  const double hue = rnd.unit();
  const double spread = 0.08 + 0.3 * rnd.unit();
  for (int a = 0; a < kAnchors; ++a) {
    const double value = a % 2 == 0 ? 0.75 + 0.25 * rnd.unit() : 0.15 + 0.3 * rnd.unit();
    anchors[a] = hsv_to_rgb(hue + spread * a, 0.45 + 0.55 * rnd.unit(), value);
  }
  constexpr int kPerAnchor = 256 / kAnchors + 1;
  for (int i = 0; i < 256; ++i) {
    const int a = i / kPerAnchor;
    const double f = static_cast<double>(i % kPerAnchor) / kPerAnchor;
    const double w = f * f * (3 - 2 * f);  // smoothstep
    const auto& c0 = anchors[a % kAnchors];
    const auto& c1 = anchors[(a + 1) % kAnchors];
    int rgb[3];
    for (int k = 0; k < 3; ++k) rgb[k] = static_cast<int>(255 * (c0[k] + (c1[k] - c0[k]) * w));
    const Yuv yuv = rgb_to_yuv(rgb[0], rgb[1], rgb[2]);
    scene.pal_y[i] = yuv.y;
    scene.pal_u[i] = yuv.u;
    scene.pal_v[i] = yuv.v;
  }
}

Wave make_wave(SceneRandom& rnd, int length, int min_amplitude, int max_amplitude) {
  Wave w;
  w.amplitude = rnd.range(min_amplitude, max_amplitude);
  const int cycles = rnd.range(1, 5);  // whole periods across the frame
  w.step = static_cast<uint32_t>((static_cast<uint64_t>(cycles) * kSineSteps << 16) / length);
  w.speed = static_cast<uint32_t>(rnd.range(3, 11));  // a period every 3 to 11 seconds at 30 fps
  if (rnd.next() & 1) w.speed = static_cast<uint32_t>(-static_cast<int32_t>(w.speed));
  w.offset = static_cast<uint32_t>(rnd.range(0, kSineSteps - 1));
  return w;
}

// dst[x] = table[index[x]] for x < n: the one per-pixel cost of the background.
void lookup(const std::array<uint8_t, 256>& table, const uint8_t* __restrict index,
            uint8_t* __restrict dst, int n) {
  const uint8_t* __restrict t = table.data();
  for (int x = 0; x < n; ++x) dst[x] = t[index[x]];
}

inline uint8_t wave_at(const Wave& w, uint32_t p, uint32_t time) {
  return static_cast<uint8_t>((w.amplitude * sine(((p * w.step) >> 16) + time + w.offset)) >> 8);
}

Shape make_shape(SceneRandom& rnd, const WorldScene& scene) {
  const int w = scene.width, h = scene.height;
  const int side = std::min(w, h);
  Shape s;
  s.radius = rnd.range(side / 16, side / 7);
  s.cx = rnd.range(w / 4, w - w / 4);
  s.cy = rnd.range(h / 4, h - h / 4);
  s.ax = rnd.range(w / 10, w / 4);
  s.ay = rnd.range(h / 10, h / 4);
  s.speed_x = static_cast<uint32_t>(rnd.range(3, 13));
  s.speed_y = static_cast<uint32_t>(rnd.range(3, 13));
  s.offset_x = static_cast<uint32_t>(rnd.range(0, kSineSteps - 1));
  s.offset_y = static_cast<uint32_t>(rnd.range(0, kSineSteps - 1));
  const int kind = rnd.range(0, 3);  // disc, square, diamond, triangle
  const int r = s.radius;
  s.half_width.resize(2 * r + 1);
  for (int dy = -r; dy <= r; ++dy) {
    int half = r;
    if (kind == 0) half = static_cast<int>(std::sqrt(static_cast<double>(r * r - dy * dy)));
    if (kind == 2) half = r - std::abs(dy);
    if (kind == 3) half = (dy + r) / 2;
    s.half_width[dy + r] = static_cast<int16_t>(half);
  }
  // The palette colour opposite a random one, lifted a little so shapes stand out.
  const int index = (rnd.range(0, 255) + 128) & 255;
  s.y = static_cast<uint8_t>(std::min(235, scene.pal_y[index] + 24));
  s.u = scene.pal_u[index];
  s.v = scene.pal_v[index];
  return s;
}

Overlay make_overlay(const std::vector<std::string>& lines, int x, int y) {
  const TextMask text = render_text(lines, kTextScale);
  Overlay o;
  o.x = x;
  o.y = y;
  o.width = text.width + 2 * kTextPadding;
  o.height = text.height + 2 * kTextPadding;
  o.ink.assign(static_cast<std::size_t>(o.width) * o.height, 0);
  for (int r = 0; r < text.height; ++r) {
    std::memcpy(o.ink.data() + static_cast<std::size_t>(r + kTextPadding) * o.width + kTextPadding,
                text.ink.data() + static_cast<std::size_t>(r) * text.width, text.width);
  }
  return o;
}

std::shared_ptr<const WorldScene> build_scene(std::string prompt, uint16_t sequence,
                                              const StreamFormat& format,
                                              std::shared_ptr<const VideoFrame> background) {
  auto scene = std::make_shared<WorldScene>();
  scene->width = format.width;
  scene->height = format.height;
  scene->sequence = sequence;
  scene->background = std::move(background);

  SceneRandom rnd(prompt);
  build_palette(rnd, *scene);
  scene->columns = make_wave(rnd, format.width, 30, 110);
  scene->rows = make_wave(rnd, format.height, 30, 110);
  scene->diagonal = make_wave(rnd, format.width + format.height, 20, 90);
  scene->diagonal_rises = (rnd.next() & 1) != 0;
  scene->palette_speed = static_cast<uint32_t>(rnd.range(64, 320));
  const int shapes = rnd.range(3, 6);
  for (int i = 0; i < shapes; ++i) scene->shapes.push_back(make_shape(rnd, *scene));

  // The prompt number is the marker's job: the streamer renumbers it per connection.
  scene->label = make_overlay({std::string(ProceduralWorld::kLabel)}, 8, kMarkerBlockHeight + 8);
  std::string text = to_printable_ascii(prompt);
  if (text.find_first_not_of(' ') == std::string::npos) text = "(no prompt)";
  const int columns =
      (format.width - 2 * kFrameMargin - 2 * kTextPadding) / (kCellWidth * kTextScale);
  scene->caption = make_overlay(wrap_text(text, columns, kCaptionLines), kFrameMargin, 0);
  scene->caption.y = format.height - kFrameMargin - scene->caption.height;
  scene->prompt = std::move(prompt);
  return scene;
}

// The start image scaled to cover the frame (centre-cropped, bilinear) and converted to I420.
std::shared_ptr<const VideoFrame> image_to_i420(const RgbImage& image, int width, int height) {
  auto frame = std::make_shared<VideoFrame>();
  frame->resize(width, height);
  const double scale = std::max(static_cast<double>(width) / image.width,
                                static_cast<double>(height) / image.height);
  // Source sample positions of each output column and row, in 24.8 fixed point.
  auto positions = [scale](int out, int in) {
    std::vector<int> pos(out);
    const double offset = (in - out / scale) / 2;
    for (int i = 0; i < out; ++i) {
      const double p = std::clamp((i + 0.5) / scale + offset - 0.5, 0.0, in - 1.0);
      pos[i] = static_cast<int>(p * 256);
    }
    return pos;
  };
  const std::vector<int> xs = positions(width, image.width);
  const std::vector<int> ys = positions(height, image.height);
  auto pixel = [&](int x, int y, int c) {
    return static_cast<int>(image.bytes[(static_cast<std::size_t>(y) * image.width + x) * 3 + c]);
  };
  std::vector<int> rgb(static_cast<std::size_t>(width) * 2 * 3);  // two output rows
  for (int y = 0; y < height; y += 2) {
    for (int dy = 0; dy < 2; ++dy) {
      const int sy = ys[y + dy] >> 8, fy = ys[y + dy] & 255;
      const int sy1 = std::min(sy + 1, image.height - 1);
      for (int x = 0; x < width; ++x) {
        const int sx = xs[x] >> 8, fx = xs[x] & 255;
        const int sx1 = std::min(sx + 1, image.width - 1);
        for (int c = 0; c < 3; ++c) {
          const int top = pixel(sx, sy, c) * (256 - fx) + pixel(sx1, sy, c) * fx;
          const int bottom = pixel(sx, sy1, c) * (256 - fx) + pixel(sx1, sy1, c) * fx;
          rgb[(static_cast<std::size_t>(dy) * width + x) * 3 + c] =
              (top * (256 - fy) + bottom * fy + (1 << 15)) >> 16;
        }
      }
    }
    for (int dy = 0; dy < 2; ++dy) {
      uint8_t* out = frame->y() + static_cast<std::size_t>(y + dy) * width;
      for (int x = 0; x < width; ++x) {
        const int* p = &rgb[(static_cast<std::size_t>(dy) * width + x) * 3];
        out[x] = rgb_to_yuv(p[0], p[1], p[2]).y;
      }
    }
    uint8_t* u = frame->u() + static_cast<std::size_t>(y / 2) * (width / 2);
    uint8_t* v = frame->v() + static_cast<std::size_t>(y / 2) * (width / 2);
    for (int x = 0; x < width; x += 2) {
      int sum[3] = {0, 0, 0};
      for (int dy = 0; dy < 2; ++dy) {
        for (int dx = 0; dx < 2; ++dx) {
          for (int c = 0; c < 3; ++c) {
            sum[c] += rgb[(static_cast<std::size_t>(dy) * width + x + dx) * 3 + c];
          }
        }
      }
      const Yuv yuv = rgb_to_yuv((sum[0] + 2) / 4, (sum[1] + 2) / 4, (sum[2] + 2) / 4);
      u[x / 2] = yuv.u;
      v[x / 2] = yuv.v;
    }
  }
  return frame;
}

Status check_image(const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 || image.width > kMaxImageSide ||
      image.height > kMaxImageSide) {
    return make_error(ErrorCode::invalid_request,
                      "start image must be 1 to " + std::to_string(kMaxImageSide) +
                          " pixels on each side, got " + std::to_string(image.width) + "x" +
                          std::to_string(image.height),
                      {{"width", image.width}, {"height", image.height}});
  }
  const std::size_t expected = static_cast<std::size_t>(image.width) * image.height * 3;
  if (image.bytes.size() != expected) {
    return make_error(ErrorCode::invalid_request,
                      "start image must be RGB24: " + std::to_string(expected) +
                          " bytes expected, got " + std::to_string(image.bytes.size()),
                      {{"expected_bytes", expected}, {"bytes", image.bytes.size()}});
  }
  return ok_status();
}

Status check_prompt_size(std::string_view prompt) {
  if (prompt.size() > kMaxPromptBytes) {
    return make_error(ErrorCode::invalid_request,
                      "prompt is longer than " + std::to_string(kMaxPromptBytes) + " bytes",
                      {{"limit", kMaxPromptBytes}, {"bytes", prompt.size()}});
  }
  return ok_status();
}

// Background index = columns(x) + diagonal(x +- y) + rows(y) + palette rotation, mod 256, looked
// up in the palette. Each row is done in two passes: the index sums (vectorized), then the
// lookups; chroma reads tables subsampled once per frame, so every pass is contiguous.
void draw_waves(const WorldScene& scene, detail::WorldScratch& scratch, VideoFrame& out,
                int64_t t) {
  const int w = scene.width, h = scene.height, cw = w / 2;
  scratch.columns.resize(w);
  scratch.diagonal.resize(static_cast<std::size_t>(w) + h);
  scratch.half_columns.resize(cw);
  scratch.half_diagonal.resize(static_cast<std::size_t>(cw) + h / 2);
  scratch.odd_diagonal.resize(static_cast<std::size_t>(cw) + h / 2);
  scratch.index.resize(w);
  scratch.half_row.resize(cw);
  const uint32_t column_time = time_phase(t, scene.columns.speed);
  const uint32_t row_time = time_phase(t, scene.rows.speed);
  const uint32_t diagonal_time = time_phase(t, scene.diagonal.speed);
  for (int x = 0; x < w; ++x) scratch.columns[x] = wave_at(scene.columns, x, column_time);
  for (int k = 0; k < w + h; ++k) scratch.diagonal[k] = wave_at(scene.diagonal, k, diagonal_time);
  for (int x = 0; x < cw; ++x) scratch.half_columns[x] = scratch.columns[2 * x];
  for (int k = 0; k < cw + h / 2; ++k) {
    scratch.half_diagonal[k] = scratch.diagonal[2 * k];
    scratch.odd_diagonal[k] = scratch.diagonal[2 * k + 1];
  }
  const auto rotation = static_cast<uint8_t>(time_phase(t, scene.palette_speed) >> 8);
  auto row_base = [&](int y) {
    return static_cast<uint8_t>(wave_at(scene.rows, y, row_time) + rotation);
  };
  auto diagonal_offset = [&](int y) { return scene.diagonal_rises ? y : h - 1 - y; };
  uint8_t* __restrict index = scratch.index.data();

  // Luma is computed at half width and each value written twice: the waves are smooth over
  // many pixels, so this halves the palette lookups (the one per-pixel cost) at no visible loss.
  const uint8_t* __restrict half_columns = scratch.half_columns.data();
  uint8_t* __restrict half_row = scratch.half_row.data();
  for (int y = 0; y < h; ++y) {
    const uint8_t base = row_base(y);
    const int offset = diagonal_offset(y);
    const uint8_t* __restrict diagonal = (offset & 1) == 0
                                             ? scratch.half_diagonal.data() + offset / 2
                                             : scratch.odd_diagonal.data() + offset / 2;
    for (int x = 0; x < cw; ++x) {
      index[x] = static_cast<uint8_t>(half_columns[x] + diagonal[x] + base);
    }
    lookup(scene.pal_y, index, half_row, cw);
    uint8_t* __restrict row = out.y() + static_cast<std::size_t>(y) * w;
    for (int x = 0; x < cw; ++x) row[2 * x] = row[2 * x + 1] = half_row[x];
  }
  for (int y2 = 0; y2 < h / 2; ++y2) {
    const uint8_t base = row_base(2 * y2);
    const uint8_t* __restrict diagonal = scratch.half_diagonal.data() + diagonal_offset(2 * y2) / 2;
    for (int x = 0; x < cw; ++x) {
      index[x] = static_cast<uint8_t>(half_columns[x] + diagonal[x] + base);
    }
    uint8_t* __restrict u = out.u() + static_cast<std::size_t>(y2) * cw;
    uint8_t* __restrict v = out.v() + static_cast<std::size_t>(y2) * cw;
    lookup(scene.pal_u, index, u, cw);
    lookup(scene.pal_v, index, v, cw);
  }
}

void draw_shape(const Shape& s, VideoFrame& out, int64_t t, bool translucent) {
  const int w = out.width, h = out.height;
  const int px = s.cx + ((s.ax * sine(time_phase(t, s.speed_x) + s.offset_x)) >> 8);
  const int py = s.cy + ((s.ay * sine(time_phase(t, s.speed_y) + s.offset_y)) >> 8);
  for (int dy = -s.radius; dy <= s.radius; ++dy) {
    const int y = py + dy;
    const int half = s.half_width[dy + s.radius];
    if (y < 0 || y >= h || half < 0) continue;
    const int x0 = std::max(0, px - half), x1 = std::min(w, px + half + 1);
    if (x0 >= x1) continue;
    uint8_t* row = out.y() + static_cast<std::size_t>(y) * w;
    if (translucent) {
      for (int x = x0; x < x1; ++x) row[x] = static_cast<uint8_t>((row[x] + s.y + 1) >> 1);
    } else {
      std::memset(row + x0, s.y, x1 - x0);
    }
    if ((y & 1) != 0) continue;
    const std::size_t offset = static_cast<std::size_t>(y / 2) * (w / 2);
    uint8_t* u = out.u() + offset;
    uint8_t* v = out.v() + offset;
    for (int x2 = x0 / 2; x2 < (x1 + 1) / 2; ++x2) {
      u[x2] = translucent ? static_cast<uint8_t>((u[x2] + s.u + 1) >> 1) : s.u;
      v[x2] = translucent ? static_cast<uint8_t>((v[x2] + s.v + 1) >> 1) : s.v;
    }
  }
}

// Darkens the box, desaturates it and writes the ink white; only the box's pixels are touched.
void draw_overlay(const Overlay& o, VideoFrame& out) {
  const int w = out.width, h = out.height;
  const int x0 = std::max(0, o.x), x1 = std::min(w, o.x + o.width);
  const int y0 = std::max(0, o.y), y1 = std::min(h, o.y + o.height);
  if (x0 >= x1 || y0 >= y1) return;
  for (int y = y0; y < y1; ++y) {
    uint8_t* row = out.y() + static_cast<std::size_t>(y) * w;
    const uint8_t* ink = o.ink.data() + static_cast<std::size_t>(y - o.y) * o.width;
    for (int x = x0; x < x1; ++x) {
      row[x] = ink[x - o.x] ? kInkY : static_cast<uint8_t>((row[x] >> 1) + 8);
    }
  }
  for (int y2 = y0 / 2; y2 < (y1 + 1) / 2; ++y2) {
    const std::size_t offset = static_cast<std::size_t>(y2) * (w / 2);
    uint8_t* u = out.u() + offset;
    uint8_t* v = out.v() + offset;
    for (int x2 = x0 / 2; x2 < (x1 + 1) / 2; ++x2) {
      u[x2] = static_cast<uint8_t>((u[x2] + 3 * 128) >> 2);
      v[x2] = static_cast<uint8_t>((v[x2] + 3 * 128) >> 2);
    }
  }
}

}  // namespace

ProceduralWorld::ProceduralWorld() : ProceduralWorld(Options{}) {}

ProceduralWorld::ProceduralWorld(Options options)
    : format_(stream_format(false, std::clamp(options.frame_rate, 1, kMaxFrameRate))),
      scratch_(std::make_unique<detail::WorldScratch>()) {
  sine_table();  // built once per process, here rather than on the first frame
}

ProceduralWorld::~ProceduralWorld() = default;

Status ProceduralWorld::check_running_locked() const {
  switch (state_) {
    case State::idle:
      return make_error(ErrorCode::invalid_request, "the stream has not started");
    case State::ended:
      return make_error(ErrorCode::session_ended, "the stream has ended");
    case State::running:
      break;
  }
  return ok_status();
}

Result<AppliedPrompt> ProceduralWorld::start(const StreamStart& request) {
  std::lock_guard update(update_mu_);
  {
    std::lock_guard lock(mu_);
    if (state_ == State::running) {
      return make_error(ErrorCode::invalid_request, "the stream has already started");
    }
    if (state_ == State::ended) return make_error(ErrorCode::session_ended, "the stream has ended");
  }
  if (auto s = check_prompt_size(request.prompt); !s) return std::move(s).error();
  if (request.params.is_object() && !request.params.empty()) {
    return make_error(ErrorCode::invalid_params,
                      "the procedural world takes no params (it takes: none)");
  }
  const StreamFormat format = stream_format(request.portrait, format_.frame_rate);
  std::shared_ptr<const VideoFrame> background;
  if (request.start_image) {
    if (auto s = check_image(*request.start_image); !s) return std::move(s).error();
    background = image_to_i420(*request.start_image, format.width, format.height);
  }
  const uint16_t sequence = 1;  // the first prompt
  auto scene = build_scene(request.prompt, sequence, format, background);
  background_ = std::move(background);
  std::lock_guard lock(mu_);
  state_ = State::running;
  format_ = format;
  scene_ = std::move(scene);
  return AppliedPrompt{request.prompt, sequence};
}

Result<AppliedPrompt> ProceduralWorld::interact(std::string_view prompt) {
  std::lock_guard update(update_mu_);
  uint16_t sequence;
  StreamFormat format;
  {
    std::lock_guard lock(mu_);
    if (auto s = check_running_locked(); !s) return std::move(s).error();
    sequence = static_cast<uint16_t>(scene_->sequence + 1);
    format = format_;
  }
  if (prompt.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return make_error(ErrorCode::invalid_request, "prompt is empty");
  }
  if (auto s = check_prompt_size(prompt); !s) return std::move(s).error();
  auto scene = build_scene(std::string(prompt), sequence, format, background_);
  std::lock_guard lock(mu_);
  scene_ = std::move(scene);
  return AppliedPrompt{std::string(prompt), sequence};
}

void ProceduralWorld::end() {
  std::lock_guard update(update_mu_);
  std::lock_guard lock(mu_);
  state_ = State::ended;  // scene_ stays: applied_prompt() still reports the last prompt
  background_.reset();
}

Status ProceduralWorld::render(VideoFrame& out, int64_t frame_index) {
  std::shared_ptr<const WorldScene> scene;
  {
    std::lock_guard lock(mu_);
    if (auto s = check_running_locked(); !s) return s;
    scene = scene_;
  }
  if (frame_index < 0) {
    return make_error(ErrorCode::invalid_request, "frame_index must be >= 0");
  }
  out.resize(scene->width, scene->height);
  out.index = frame_index;
  out.sequence = scene->sequence;
  if (scene->background) {
    std::memcpy(out.data.data(), scene->background->data.data(), out.data.size());
  } else {
    draw_waves(*scene, *scratch_, out, frame_index);
  }
  for (const Shape& shape : scene->shapes) {
    draw_shape(shape, out, frame_index, scene->background != nullptr);
  }
  draw_overlay(scene->label, out);
  draw_overlay(scene->caption, out);
  draw_marker(out, scene->sequence);
  return ok_status();
}

AppliedPrompt ProceduralWorld::applied_prompt() const {
  std::lock_guard lock(mu_);
  if (!scene_) return {};
  return {scene_->prompt, scene_->sequence};
}

StreamFormat ProceduralWorld::format() const {
  std::lock_guard lock(mu_);
  return format_;
}

}  // namespace ithaca::media
