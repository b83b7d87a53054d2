// Streamer cost per frame, without a network: ProceduralWorld renders 1280x704 frames and the
// streamer's encoder pipeline (appsrc ! encoder ! RTP payloader) encodes them as fast as it can.
// Counter core_pct_at_30fps: process CPU time per frame x 30, as % of one core; the live
// streamer adds SRTP and the network on top (bench/streaming/streamer_cpu.mjs measures that).
// "x264_preset_only" is the baseline before the encoder settings were tuned (x264enc's own
// defaults, trellis on, applied over the ultrafast preset).
// Run: ./build/dev/bench/encode_bench
#include <benchmark/benchmark.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <time.h>

#include <cstdlib>

#include "ithaca/media/procedural_world.hpp"
#include "ithaca/streamer/encoder.hpp"
#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {
namespace {

constexpr int kFrames = 150;  // 5 s of video

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void encode(benchmark::State& state, const std::string& encoder) {
  init_gstreamer();
  const std::string description =
      "appsrc name=frames format=time block=true max-buffers=4 caps=video/x-raw,format=I420,"
      "width=1280,height=704,framerate=30/1 ! " +
      encoder + " ! fakesink sync=false";
  double cpu = 0;
  int64_t frames = 0;
  for (auto _ : state) {
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
    if (!pipeline) {
      state.SkipWithError(error ? error->message : "pipeline");
      return;
    }
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "frames");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    media::ProceduralWorld world;
    (void)world.start({"a lighthouse on a cliff at dusk", false, std::nullopt});
    media::VideoFrame frame;
    const double begin = cpu_seconds();
    for (int i = 0; i < kFrames; ++i) {
      (void)world.render(frame, i);
      GstBuffer* buffer = gst_buffer_new_allocate(nullptr, frame.data.size(), nullptr);
      gst_buffer_fill(buffer, 0, frame.data.data(), frame.data.size());
      GST_BUFFER_PTS(buffer) = i * GST_SECOND / 30;
      GST_BUFFER_DURATION(buffer) = GST_SECOND / 30;
      gst_app_src_push_buffer(GST_APP_SRC(src), buffer);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    cpu += cpu_seconds() - begin;
    frames += kFrames;
    if (m) gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }
  state.counters["ms_cpu_per_frame"] = cpu / frames * 1e3;
  state.counters["core_pct_at_30fps"] = cpu / frames * 30 * 100;
}

void Configured(benchmark::State& state, const std::string& name) {
  EncoderSettings settings;
  settings.name = name;
  encode(state, *encoder_pipeline(settings));
}

void X264PresetOnly(benchmark::State& state) {
  encode(state,
         "x264enc tune=zerolatency speed-preset=ultrafast threads=1 bitrate=2500 key-int-max=60 "
         "! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 "
         "aggregate-mode=zero-latency mtu=1200");
}

// ENCODER="x264enc ... ! rtph264pay ..." tries any fragment against the same frames.
void FromEnvironment(benchmark::State& state) {
  const char* fragment = std::getenv("ENCODER");
  if (!fragment) return state.SkipWithError("set ENCODER to a pipeline fragment");
  encode(state, fragment);
}

void RenderOnly(benchmark::State& state) {
  media::ProceduralWorld world;
  (void)world.start({"a lighthouse on a cliff at dusk", false, std::nullopt});
  media::VideoFrame frame;
  double cpu = 0;
  int64_t frames = 0;
  for (auto _ : state) {
    const double begin = cpu_seconds();
    for (int i = 0; i < kFrames; ++i) (void)world.render(frame, i);
    cpu += cpu_seconds() - begin;
    frames += kFrames;
  }
  state.counters["ms_cpu_per_frame"] = cpu / frames * 1e3;
  state.counters["core_pct_at_30fps"] = cpu / frames * 30 * 100;
}

BENCHMARK(FromEnvironment)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(RenderOnly)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(Configured, x264, std::string("x264"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK(X264PresetOnly)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(Configured, openh264, std::string("openh264"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(Configured, vp8, std::string("vp8"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace ithaca::streamer
