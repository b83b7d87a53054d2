#include "ithaca/streamer/hls_segmenter.hpp"

#include <gio/gio.h>
#include <gst/app/gstappsrc.h>

namespace ithaca::streamer {
namespace {

std::string bytes_of(GOutputStream* stream) {
  auto* memory = G_MEMORY_OUTPUT_STREAM(stream);
  const auto* data = static_cast<const char*>(g_memory_output_stream_get_data(memory));
  return std::string(data ? data : "", g_memory_output_stream_get_data_size(memory));
}

}  // namespace

struct HlsSegmenter::Impl {
  ~Impl() {
    if (pipeline) {
      gst_element_set_state(pipeline.get(), GST_STATE_NULL);
      g_signal_handlers_disconnect_by_data(sink.get(), this);
    }
    if (fragment) g_object_unref(fragment);
    if (playlist) g_object_unref(playlist);
  }

  // hlssink2 asks for a new fragment's stream right after it finished the previous fragment and
  // rewrote the playlist for it (splitmuxsink closes, then reopens, on the streaming thread), so
  // here both are complete: take them.
  static GOutputStream* on_fragment_stream(GstElement*, gchar* location, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (self->fragment && self->playlist) {
      self->output(self->fragment_name, bytes_of(self->fragment), bytes_of(self->playlist));
    }
    if (self->playlist) g_object_unref(self->playlist);
    if (self->fragment) g_object_unref(self->fragment);
    self->playlist = nullptr;
    GOutputStream* stream = g_memory_output_stream_new_resizable();
    self->fragment = G_OUTPUT_STREAM(g_object_ref(stream));
    self->fragment_name = location ? location : "";
    return stream;  // hlssink2 takes this reference
  }

  static GOutputStream* on_playlist_stream(GstElement*, gchar*, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (self->playlist) g_object_unref(self->playlist);
    GOutputStream* stream = g_memory_output_stream_new_resizable();
    self->playlist = G_OUTPUT_STREAM(g_object_ref(stream));
    return stream;
  }

  // hlssink2 drops old fragments from the playlist itself; the server keeps its own window.
  static void on_delete_fragment(GstElement*, gchar*, gpointer) {}

  HlsOutput output;
  GstPtr<GstElement> pipeline, appsrc, sink;
  // Touched only on the streaming thread (and after it stopped, in the destructor).
  GOutputStream* fragment = nullptr;
  std::string fragment_name;
  GOutputStream* playlist = nullptr;
};

Result<std::unique_ptr<HlsSegmenter>> HlsSegmenter::create(GstCaps* encoded_caps,
                                                           HlsOutput output) {
  auto impl = std::make_unique<Impl>();
  impl->output = std::move(output);
  // A segment's worth of frames may wait here while the muxer is busy; beyond that, drop.
  const std::string description =
      "appsrc name=frames is-live=true format=time do-timestamp=true max-buffers=60 "
      "leaky-type=downstream ! h264parse ! hlssink2 name=hls send-keyframe-requests=false "
      "location=segment%05d.ts playlist-location=index.m3u8 target-duration=" +
      std::to_string(kTargetSeconds) + " playlist-length=" + std::to_string(kPlaylistLength) +
      " max-files=" + std::to_string(kPlaylistLength + 2);
  GError* error = nullptr;
  impl->pipeline.reset(gst_parse_launch(description.c_str(), &error));
  if (!impl->pipeline) {
    std::string why = error ? error->message : "unknown";
    if (error) g_error_free(error);
    return make_error(ErrorCode::streamer_failed, "HLS pipeline: " + why);
  }
  gst_object_ref_sink(impl->pipeline.get());
  impl->appsrc.reset(gst_bin_get_by_name(GST_BIN(impl->pipeline.get()), "frames"));
  impl->sink.reset(gst_bin_get_by_name(GST_BIN(impl->pipeline.get()), "hls"));
  gst_app_src_set_caps(GST_APP_SRC(impl->appsrc.get()), encoded_caps);
  g_signal_connect(impl->sink.get(), "get-fragment-stream", G_CALLBACK(Impl::on_fragment_stream),
                   impl.get());
  g_signal_connect(impl->sink.get(), "get-playlist-stream", G_CALLBACK(Impl::on_playlist_stream),
                   impl.get());
  g_signal_connect(impl->sink.get(), "delete-fragment", G_CALLBACK(Impl::on_delete_fragment),
                   impl.get());
  if (gst_element_set_state(impl->pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return make_error(ErrorCode::streamer_failed, "the HLS pipeline did not start");
  }
  return std::unique_ptr<HlsSegmenter>(new HlsSegmenter(std::move(impl)));
}

HlsSegmenter::HlsSegmenter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HlsSegmenter::~HlsSegmenter() = default;

void HlsSegmenter::push(GstBuffer* frame) {
  gst_app_src_push_buffer(GST_APP_SRC(impl_->appsrc.get()), retimed_copy(frame));
}

}  // namespace ithaca::streamer
