// Frame source micro-benchmarks, single-threaded: ProceduralWorld::render() of one frame into a
// reused buffer, the cost the streamer pays per frame before encoding. Counters: ms_per_frame
// (wall time, one thread) and core_pct_at_30fps (the share of one core 30 frames a second take).
// Run: ./build/dev/bench/frame_source_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "ithaca/media/frame_marker.hpp"
#include "ithaca/media/procedural_world.hpp"

namespace ithaca::media {
namespace {

constexpr double kFramesPerSecond = 30;

void run(benchmark::State& state, const StreamStart& request) {
  ProceduralWorld world;
  if (!world.start(request).ok()) std::abort();
  VideoFrame frame;
  int64_t index = 0;
  const auto begin = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (!world.render(frame, index++).ok()) state.SkipWithError("render failed");
    benchmark::DoNotOptimize(frame.data.data());
    benchmark::ClobberMemory();
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
  const double per_frame = ms / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  state.counters["ms_per_frame"] = per_frame;
  state.counters["core_pct_at_30fps"] = per_frame * kFramesPerSecond / 1000 * 100;
}

void BM_RenderLandscape(benchmark::State& state) {
  run(state, StreamStart{"a lighthouse on a cliff in a storm, waves crashing", false, {}});
}
BENCHMARK(BM_RenderLandscape)->Unit(benchmark::kMillisecond);

void BM_RenderPortrait(benchmark::State& state) {
  run(state, StreamStart{"a lighthouse on a cliff in a storm, waves crashing", true, {}});
}
BENCHMARK(BM_RenderPortrait)->Unit(benchmark::kMillisecond);

void BM_RenderLandscapeStartImage(benchmark::State& state) {
  RgbImage image{640, 360, std::vector<uint8_t>(640 * 360 * 3)};
  for (std::size_t i = 0; i < image.bytes.size(); ++i) image.bytes[i] = (i * 7) & 255;
  run(state, StreamStart{"the same scene, from a photo", false, image});
}
BENCHMARK(BM_RenderLandscapeStartImage)->Unit(benchmark::kMillisecond);

// The marker alone: what stamping a world model's frames would add.
void BM_DrawMarker(benchmark::State& state) {
  VideoFrame frame;
  frame.resize(kLandscapeWidth, kLandscapeHeight);
  uint16_t sequence = 0;
  for (auto _ : state) {
    draw_marker(frame, sequence++);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_DrawMarker);

}  // namespace
}  // namespace ithaca::media
