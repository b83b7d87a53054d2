// ProceduralWorld: determinism, variety between prompts, motion, sizes, the marker and the text
// it draws, the start image, and the refusals of bad input and wrong state.
#include "ithaca/media/procedural_world.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "ithaca/media/frame_marker.hpp"

namespace ithaca::media {
namespace {

StreamStart start_request(std::string prompt, bool portrait = false) {
  StreamStart s;
  s.prompt = std::move(prompt);
  s.portrait = portrait;
  return s;
}

RgbImage solid_image(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  RgbImage image{width, height, {}};
  image.bytes.resize(static_cast<std::size_t>(width) * height * 3);
  for (std::size_t i = 0; i < image.bytes.size(); i += 3) {
    image.bytes[i] = r;
    image.bytes[i + 1] = g;
    image.bytes[i + 2] = b;
  }
  return image;
}

VideoFrame render_at(FrameSource& source, int64_t index) {
  VideoFrame f;
  const Status s = source.render(f, index);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return f;
}

VideoFrame render_prompt(const std::string& prompt, int64_t index, bool portrait = false) {
  ProceduralWorld world;
  EXPECT_TRUE(world.start(start_request(prompt, portrait)).ok());
  return render_at(world, index);
}

// Mean absolute difference of the luma planes, over the rows below the label and above the
// caption, where only the scene is drawn.
double scene_luma_difference(const VideoFrame& a, const VideoFrame& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  int64_t sum = 0, n = 0;
  for (int y = 80; y < a.height - 100; ++y) {
    for (int x = 0; x < a.width; ++x) {
      sum += std::abs(a.y()[y * a.width + x] - b.y()[y * b.width + x]);
      ++n;
    }
  }
  return static_cast<double>(sum) / static_cast<double>(n);
}

double chroma_difference(const VideoFrame& a, const VideoFrame& b) {
  const std::size_t luma = static_cast<std::size_t>(a.width) * a.height;
  int64_t sum = 0;
  for (std::size_t i = luma; i < a.data.size(); ++i) sum += std::abs(a.data[i] - b.data[i]);
  return static_cast<double>(sum) / static_cast<double>(a.data.size() - luma);
}

std::optional<uint16_t> marker_of(const VideoFrame& f) {
  return decode_marker(f.y(), f.width, f.height, f.y_stride(), MarkerPixels::luma);
}

// Pixels of exactly the ink level in rows [y0, y1): on a grey start image nothing else reaches it.
std::vector<uint8_t> ink_mask(const VideoFrame& f, int y0, int y1) {
  std::vector<uint8_t> mask;
  for (int y = y0; y < y1; ++y) {
    for (int x = 0; x < f.width; ++x) mask.push_back(f.y()[y * f.width + x] == 235);
  }
  return mask;
}

int count(const std::vector<uint8_t>& mask) {
  int n = 0;
  for (uint8_t m : mask) n += m;
  return n;
}

TEST(ProceduralWorld, SamePromptAndIndexGiveIdenticalBytes) {
  const VideoFrame a = render_prompt("a lighthouse in a storm", 42);
  const VideoFrame b = render_prompt("a lighthouse in a storm", 42);
  EXPECT_EQ(a.data, b.data);

  ProceduralWorld world;
  ASSERT_TRUE(world.start(start_request("a lighthouse in a storm")).ok());
  VideoFrame f;
  ASSERT_TRUE(world.render(f, 7).ok());
  ASSERT_TRUE(world.render(f, 100).ok());
  ASSERT_TRUE(world.render(f, 42).ok());  // the order of earlier frames does not matter
  EXPECT_EQ(f.data, a.data);
}

TEST(ProceduralWorld, DifferentPromptsLookSubstantiallyDifferent) {
  const std::vector<std::string> prompts = {"a lighthouse in a storm", "a desert at noon",
                                            "neon city at night", "underwater coral reef",
                                            "a lighthouse in a storm!"};
  std::vector<VideoFrame> frames;
  for (const auto& p : prompts) frames.push_back(render_prompt(p, 30));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    for (std::size_t j = i + 1; j < frames.size(); ++j) {
      const double luma = scene_luma_difference(frames[i], frames[j]);
      const double chroma = chroma_difference(frames[i], frames[j]);
      EXPECT_GT(luma + chroma, 25)
          << prompts[i] << " vs " << prompts[j] << ": luma " << luma << " chroma " << chroma;
    }
  }
}

TEST(ProceduralWorld, TheSceneMovesFromFrameToFrame) {
  ProceduralWorld world;
  ASSERT_TRUE(world.start(start_request("waves")).ok());
  const VideoFrame f0 = render_at(world, 0);
  const VideoFrame f1 = render_at(world, 1);
  const VideoFrame f30 = render_at(world, 30);
  EXPECT_NE(f0.data, f1.data);
  EXPECT_GT(scene_luma_difference(f0, f1), 1.0);
  EXPECT_GT(scene_luma_difference(f0, f30), 10.0);
  // Motion runs forever: frame indices far apart (hours) still render and still move.
  const VideoFrame late = render_at(world, 30LL * 3600 * 24);
  const VideoFrame later = render_at(world, 30LL * 3600 * 24 + 1);
  EXPECT_NE(late.data, later.data);
}

TEST(ProceduralWorld, LandscapeAndPortraitSizes) {
  ProceduralWorld landscape;
  EXPECT_EQ(landscape.format().width, kLandscapeWidth);  // before start: the default
  ASSERT_TRUE(landscape.start(start_request("x")).ok());
  const VideoFrame l = render_at(landscape, 0);
  EXPECT_EQ(l.width, 1280);
  EXPECT_EQ(l.height, 704);
  EXPECT_EQ(l.data.size(), 1280u * 704 * 3 / 2);
  EXPECT_EQ(landscape.format().frame_rate, 30);

  ProceduralWorld portrait(ProceduralWorld::Options{.frame_rate = 24});
  ASSERT_TRUE(portrait.start(start_request("x", true)).ok());
  const VideoFrame p = render_at(portrait, 0);
  EXPECT_EQ(p.width, 704);
  EXPECT_EQ(p.height, 1280);
  EXPECT_EQ(p.data.size(), 704u * 1280 * 3 / 2);
  const StreamFormat format = portrait.format();
  EXPECT_EQ(format.width, 704);
  EXPECT_EQ(format.height, 1280);
  EXPECT_EQ(format.frame_rate, 24);
  EXPECT_EQ(marker_of(p), 1);
}

TEST(ProceduralWorld, TheFrameBufferIsReused) {
  ProceduralWorld world;
  ASSERT_TRUE(world.start(start_request("reuse")).ok());
  VideoFrame f;
  ASSERT_TRUE(world.render(f, 0).ok());
  const uint8_t* buffer = f.data.data();
  for (int i = 1; i < 5; ++i) ASSERT_TRUE(world.render(f, i).ok());
  ASSERT_TRUE(world.interact("another").ok());
  ASSERT_TRUE(world.render(f, 5).ok());
  EXPECT_EQ(f.data.data(), buffer);
  EXPECT_EQ(f.index, 5);
}

TEST(ProceduralWorld, SequenceCountsStartAndInteractsAndTheMarkerCarriesIt) {
  ProceduralWorld world;
  EXPECT_EQ(world.applied_prompt().sequence, 0);
  auto started = world.start(start_request("first"));
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->text, "first");
  EXPECT_EQ(started->sequence, 1);
  VideoFrame f = render_at(world, 0);
  EXPECT_EQ(f.sequence, 1);
  EXPECT_EQ(marker_of(f), 1);

  for (uint16_t expected = 2; expected <= 4; ++expected) {
    auto applied = world.interact("prompt " + std::to_string(expected));
    ASSERT_TRUE(applied.ok());
    EXPECT_EQ(applied->sequence, expected);
    f = render_at(world, expected);
    EXPECT_EQ(f.sequence, expected);
    EXPECT_EQ(marker_of(f), expected);
  }
  EXPECT_EQ(world.applied_prompt().text, "prompt 4");
  EXPECT_EQ(world.applied_prompt().sequence, 4);

  EXPECT_FALSE(world.interact("").ok());  // a refused prompt does not count
  EXPECT_EQ(world.applied_prompt().sequence, 4);
  EXPECT_EQ(marker_of(render_at(world, 9)), 4);
}

TEST(ProceduralWorld, PromptTextIsDrawnAndFollowsThePrompt) {
  // On a grey start image the shapes are translucent, so only text ink reaches Y 235.
  StreamStart request = start_request("a quiet harbour at dawn");
  request.start_image = solid_image(64, 64, 128, 128, 128);
  ProceduralWorld world;
  ASSERT_TRUE(world.start(request).ok());
  const int h = kLandscapeHeight;
  const VideoFrame a0 = render_at(world, 0);
  const VideoFrame a50 = render_at(world, 50);
  const auto caption_a0 = ink_mask(a0, h - 120, h);
  EXPECT_GT(count(caption_a0), 200);
  EXPECT_EQ(caption_a0, ink_mask(a50, h - 120, h));  // text holds still while the scene moves
  EXPECT_GT(count(ink_mask(a0, kMarkerBlockHeight, 80)), 200);  // the "SIMULATED" label

  ASSERT_TRUE(world.interact("a storm rolls in").ok());
  const auto caption_b = ink_mask(render_at(world, 51), h - 120, h);
  EXPECT_GT(count(caption_b), 200);
  EXPECT_NE(caption_b, caption_a0);

  // Non-ASCII text is drawn as '?' and kept as given in the applied prompt.
  auto applied = world.interact("caf\xC3\xA9 \xE2\x98\x95");
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->text, "caf\xC3\xA9 \xE2\x98\x95");
  EXPECT_GT(count(ink_mask(render_at(world, 52), h - 120, h)), 50);
}

TEST(ProceduralWorld, LongPromptsWrapAndFit) {
  ProceduralWorld world;
  ASSERT_TRUE(world.start(start_request(std::string(kMaxPromptBytes, 'w'))).ok());
  const VideoFrame f = render_at(world, 0);
  EXPECT_EQ(marker_of(f), 1);
  EXPECT_EQ(world.applied_prompt().text.size(), kMaxPromptBytes);
}

TEST(ProceduralWorld, AStartImageBecomesTheScene) {
  StreamStart red = start_request("same prompt");
  red.start_image = solid_image(320, 240, 220, 20, 20);
  StreamStart blue = start_request("same prompt");
  blue.start_image = solid_image(320, 240, 20, 20, 220);
  ProceduralWorld red_world, blue_world;
  ASSERT_TRUE(red_world.start(red).ok());
  ASSERT_TRUE(blue_world.start(blue).ok());
  const VideoFrame r = render_at(red_world, 10);
  const VideoFrame b = render_at(blue_world, 10);
  EXPECT_GT(chroma_difference(r, b), 30);
  // Most of the red frame is red: V (red difference) well above neutral.
  int reddish = 0;
  const int chroma_pixels = r.width / 2 * (r.height / 2);
  for (int i = 0; i < chroma_pixels; ++i) reddish += r.v()[i] > 170;
  EXPECT_GT(reddish, chroma_pixels / 2);
  // The image stays through interactions, and the scene still moves over it.
  ASSERT_TRUE(red_world.interact("something else").ok());
  const VideoFrame r2 = render_at(red_world, 11);
  const VideoFrame r3 = render_at(red_world, 12);
  EXPECT_NE(r2.data, r3.data);
  reddish = 0;
  for (int i = 0; i < chroma_pixels; ++i) reddish += r2.v()[i] > 170;
  EXPECT_GT(reddish, chroma_pixels / 2);
  EXPECT_EQ(marker_of(r2), 2);
}

TEST(ProceduralWorld, AStartImageIsScaledToCoverTheFrame) {
  // Left half black, right half white, in a portrait image shown in a landscape frame: the
  // image is scaled to the frame width, so the frame's left and right halves follow it.
  RgbImage image = solid_image(300, 500, 0, 0, 0);
  for (int y = 0; y < image.height; ++y) {
    for (int x = image.width / 2; x < image.width; ++x) {
      for (int c = 0; c < 3; ++c) image.bytes[(y * image.width + x) * 3 + c] = 255;
    }
  }
  StreamStart request = start_request("halves");
  request.start_image = image;
  ProceduralWorld world;
  ASSERT_TRUE(world.start(request).ok());
  const VideoFrame f = render_at(world, 0);
  // Sample a row in the middle band, away from shapes: compare the 8 columns nearest each edge.
  int left = 0, right = 0, samples = 0;
  for (int y = 100; y < 600; ++y) {
    for (int x = 0; x < 8; ++x) {
      left += f.y()[y * f.width + x];
      right += f.y()[y * f.width + f.width - 1 - x];
      ++samples;
    }
  }
  EXPECT_LT(left / samples, 90);
  EXPECT_GT(right / samples, 170);
}

TEST(ProceduralWorld, BadStartImagesAreRefused) {
  struct Case {
    const char* name;
    RgbImage image;
  };
  std::vector<Case> cases = {
      {"zero size", RgbImage{0, 0, {}}},
      {"zero height", RgbImage{10, 0, {}}},
      {"negative", RgbImage{-4, 4, {}}},
      {"too few bytes", RgbImage{4, 4, std::vector<uint8_t>(47)}},
      {"too many bytes", RgbImage{4, 4, std::vector<uint8_t>(49)}},
      {"RGBA bytes", RgbImage{4, 4, std::vector<uint8_t>(64)}},
      {"too large", RgbImage{kMaxImageSide + 1, 1, std::vector<uint8_t>(3 * (kMaxImageSide + 1))}},
  };
  for (auto& c : cases) {
    ProceduralWorld world;
    StreamStart request = start_request("x");
    request.start_image = std::move(c.image);
    auto result = world.start(request);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error().code, ErrorCode::invalid_request) << c.name;
    EXPECT_NE(result.error().detail.find("start image"), std::string::npos) << c.name;
    // A refused start leaves the world unstarted; a good one then works.
    VideoFrame f;
    EXPECT_EQ(world.render(f, 0).error().code, ErrorCode::invalid_request) << c.name;
    EXPECT_TRUE(world.start(start_request("x")).ok()) << c.name;
  }
  // The smallest image works.
  ProceduralWorld world;
  StreamStart request = start_request("x");
  request.start_image = solid_image(1, 1, 10, 200, 10);
  EXPECT_TRUE(world.start(request).ok());
  EXPECT_EQ(marker_of(render_at(world, 0)), 1);
}

TEST(ProceduralWorld, WrongStateAndBadPromptsAreClearErrors) {
  ProceduralWorld world;
  VideoFrame f;
  const Status early = world.render(f, 0);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::invalid_request);
  EXPECT_NE(early.error().detail.find("not started"), std::string::npos);
  EXPECT_EQ(world.interact("hello").error().code, ErrorCode::invalid_request);

  EXPECT_EQ(world.start(start_request(std::string(kMaxPromptBytes + 1, 'x'))).error().code,
            ErrorCode::invalid_request);
  ASSERT_TRUE(world.start(start_request("")).ok());  // an empty first prompt is allowed
  EXPECT_EQ(world.applied_prompt().text, "");
  EXPECT_TRUE(world.render(f, 0).ok());
  EXPECT_EQ(world.start(start_request("again")).error().code, ErrorCode::invalid_request);
  EXPECT_EQ(world.interact("").error().code, ErrorCode::invalid_request);
  EXPECT_EQ(world.interact(" \t\n").error().code, ErrorCode::invalid_request);
  EXPECT_EQ(world.interact(std::string(kMaxPromptBytes + 1, 'x')).error().code,
            ErrorCode::invalid_request);
  EXPECT_EQ(world.render(f, -1).error().code, ErrorCode::invalid_request);

  world.end();
  world.end();  // idempotent
  EXPECT_EQ(world.render(f, 1).error().code, ErrorCode::session_ended);
  EXPECT_EQ(world.interact("late").error().code, ErrorCode::session_ended);
  EXPECT_EQ(world.start(start_request("restart")).error().code, ErrorCode::session_ended);
  EXPECT_EQ(world.applied_prompt().sequence, 1);  // still reports the last prompt

  ProceduralWorld never_started;
  never_started.end();
  EXPECT_EQ(never_started.render(f, 0).error().code, ErrorCode::session_ended);
}

TEST(ProceduralWorld, InteractFromAnotherThreadWhileRendering) {
  ProceduralWorld world;
  ASSERT_TRUE(world.start(start_request("start")).ok());
  std::atomic<bool> done{false};
  std::thread prompter([&] {
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(world.interact("prompt " + std::to_string(i)).ok());
    done = true;
  });
  VideoFrame f;
  uint16_t last = 0;
  for (int64_t i = 0; !done || i < 5; ++i) {
    ASSERT_TRUE(world.render(f, i).ok());
    EXPECT_EQ(marker_of(f), f.sequence);
    EXPECT_GE(f.sequence, last);  // never goes back
    last = f.sequence;
  }
  prompter.join();
  ASSERT_TRUE(world.render(f, 1000).ok());
  EXPECT_EQ(f.sequence, 41);
  EXPECT_EQ(world.applied_prompt().text, "prompt 39");
}

}  // namespace
}  // namespace ithaca::media
