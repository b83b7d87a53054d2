#include "ithaca/streamer/gst_support.hpp"

#define GST_USE_UNSTABLE_API  // webrtcbin's library API is marked unstable in 1.22
#include <gst/webrtc/webrtc.h>
#include <pthread.h>

#include <mutex>

#include "ithaca/base/log.hpp"
#include "ithaca/streamer/dtls_certificate.hpp"

namespace ithaca::streamer {

void init_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

std::vector<RequiredElement> required_elements(const std::string& encoder) {
  std::vector<RequiredElement> all = {
      {"webrtcbin", "gstreamer1.0-plugins-bad"},
      {"dtlsdec", "gstreamer1.0-plugins-bad"},
      {"srtpenc", "gstreamer1.0-plugins-bad"},
      {"sctpenc", "gstreamer1.0-plugins-bad"},
      {"nicesrc", "gstreamer1.0-nice"},
      {"appsrc", "gstreamer1.0-plugins-base"},
      {"videoconvert", "gstreamer1.0-plugins-base"},
      {"queue", "libgstreamer1.0-0"},
      {"rtpbin", "gstreamer1.0-plugins-good"},
      {"decodebin", "gstreamer1.0-plugins-base"},
      {"pngdec", "gstreamer1.0-plugins-good"},
      {"jpegdec", "gstreamer1.0-plugins-good"},
  };
  if (encoder == "x264" || encoder == "openh264") {
    // A broadcast's HLS rendition (HlsSegmenter).
    all.push_back({"h264parse", "gstreamer1.0-plugins-bad"});
    all.push_back({"hlssink2", "gstreamer1.0-plugins-bad"});
    all.push_back({"mpegtsmux", "gstreamer1.0-plugins-bad"});
    all.push_back({"giostreamsink", "gstreamer1.0-plugins-base"});
  }
  if (encoder == "x264") {
    all.push_back({"x264enc", "gstreamer1.0-plugins-ugly"});
    all.push_back({"rtph264pay", "gstreamer1.0-plugins-good"});
  } else if (encoder == "openh264") {
    all.push_back({"openh264enc", "gstreamer1.0-plugins-bad"});
    all.push_back({"rtph264pay", "gstreamer1.0-plugins-good"});
  } else if (encoder == "vp8") {
    all.push_back({"vp8enc", "gstreamer1.0-plugins-good"});
    all.push_back({"rtpvp8pay", "gstreamer1.0-plugins-good"});
  }
  return all;
}

Status prepare_send_only_video(GstElement* webrtcbin,
                               std::shared_ptr<const DtlsCertificate> dtls_certificate,
                               const std::string& stun_server, const std::string& turn_server,
                               GstPadProbeCallback caps_probe, gpointer probe_data) {
  keep_ice_local(webrtcbin);
  present_certificate(webrtcbin, std::move(dtls_certificate));
  if (!stun_server.empty()) g_object_set(webrtcbin, "stun-server", stun_server.c_str(), nullptr);
  if (!turn_server.empty()) g_object_set(webrtcbin, "turn-server", turn_server.c_str(), nullptr);
  GstPad* sink = gst_element_get_static_pad(webrtcbin, "sink_0");
  if (!sink) return make_error(ErrorCode::streamer_failed, "webrtcbin has no video sink pad");
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, caps_probe, probe_data, nullptr);
  gst_object_unref(sink);
  GstWebRTCRTPTransceiver* transceiver = nullptr;
  g_signal_emit_by_name(webrtcbin, "get-transceiver", 0, &transceiver);
  if (!transceiver) return make_error(ErrorCode::streamer_failed, "no video transceiver");
  g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
  gst_object_unref(transceiver);
  return ok_status();
}

namespace {
// The libnice agent inside webrtcbin's ICE object (a reference), or null.
GObject* nice_agent_of(GstElement* webrtcbin) {
  GObject* ice = nullptr;
  g_object_get(webrtcbin, "ice-agent", &ice, nullptr);
  if (!ice) return nullptr;
  GObject* agent = nullptr;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent")) {
    g_object_get(ice, "agent", &agent, nullptr);
  }
  g_object_unref(ice);
  return agent;
}
}  // namespace

void keep_ice_local(GstElement* webrtcbin) {
  if (GObject* agent = nice_agent_of(webrtcbin)) {
    // libnice paces its connectivity checks 20 ms apart (Ta) by default, for a host that has
    // many candidates and a slow link; a streamer has a few and its peers answer at once:
    // 5 ms took ICE + DTLS from ~80 to ~30 ms after the answer (bench/streaming/ttff.mjs).
    g_object_set(agent, "upnp", FALSE, "stun-pacing-timer", kIcePacingMs, nullptr);
    g_object_unref(agent);
  }
}

bool ice_upnp_enabled(GstElement* webrtcbin) {
  GObject* agent = nice_agent_of(webrtcbin);
  if (!agent) return true;  // unknown: not known to be off
  gboolean upnp = TRUE;
  g_object_get(agent, "upnp", &upnp, nullptr);
  g_object_unref(agent);
  return upnp;
}

void for_each_element(GstElement* bin, const std::function<void(GstElement*)>& f) {
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(bin));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    f(GST_ELEMENT(g_value_get_object(&item)));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

bool made_by(GstElement* element, const char* factory) {
  GstElementFactory* f = gst_element_get_factory(element);
  return f && g_strcmp0(GST_OBJECT_NAME(f), factory) == 0;
}

GstElement* find_by_factory(GstElement* bin, const char* factory) {
  GstElement* found = nullptr;
  for_each_element(bin, [&](GstElement* element) {
    if (!found && made_by(element, factory)) found = GST_ELEMENT(gst_object_ref(element));
  });
  return found;
}

bool video_caps_reached(GstElement* webrtcbin, bool codec_parameters) {
  GstPad* sink = gst_element_get_static_pad(webrtcbin, "sink_0");
  if (!sink) return false;
  GstCaps* caps = gst_pad_get_current_caps(sink);
  gst_object_unref(sink);
  if (!caps) return false;
  // rtph264pay's first caps (before it saw the stream's SPS) carry no packetization-mode or
  // sprop-parameter-sets; its next ones do, and an offer needs them.
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const bool complete = !codec_parameters ||
                        g_strcmp0(gst_structure_get_string(s, "encoding-name"), "H264") != 0 ||
                        gst_structure_has_field(s, "packetization-mode");
  gst_caps_unref(caps);
  return complete;
}

void disable_ice_tcp(GstElement* webrtcbin) {
  GObject* agent = nullptr;
  g_object_get(webrtcbin, "ice-agent", &agent, nullptr);
  if (!agent) return;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "ice-tcp")) {
    g_object_set(agent, "ice-tcp", FALSE, nullptr);
  }
  g_object_unref(agent);
}

GstBuffer* retimed_copy(GstBuffer* frame) {
  GstBuffer* copy = gst_buffer_copy(frame);  // shares the memory
  GST_BUFFER_PTS(copy) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS(copy) = GST_CLOCK_TIME_NONE;
  return copy;
}

Status check_elements(const std::string& encoder) {
  init_gstreamer();
  std::string missing;
  for (const auto& e : required_elements(encoder)) {
    GstElementFactory* f = gst_element_factory_find(e.factory.c_str());
    if (f) {
      gst_object_unref(f);
      continue;
    }
    missing += (missing.empty() ? "" : ", ") + e.factory + " (apt install " + e.package + ")";
  }
  if (!missing.empty()) {
    return make_error(ErrorCode::config_invalid, "missing GStreamer elements: " + missing);
  }
  return ok_status();
}

void warm_up(const std::string& encoder, const std::string& dtls_pem) {
  init_gstreamer();
  // Making one of each element loads its plugin now instead of during the first offer; the
  // first dtlsdec also generates GStreamer's process-wide RSA certificate.
  for (const auto& e : required_elements(encoder)) {
    if (GstElement* element = gst_element_factory_make(e.factory.c_str(), nullptr)) {
      gst_object_unref(gst_object_ref_sink(element));
    }
  }
  // dtlsdec keeps one DTLS context per certificate only while some decoder holds it: this one,
  // kept for the process's life, holds the start-up certificate's between sessions.
  static GstElement* holder = nullptr;
  if (dtls_pem.empty() || holder) return;
  holder = gst_element_factory_make("dtlsdec", nullptr);
  if (holder) g_object_set(gst_object_ref_sink(holder), "pem", dtls_pem.c_str(), nullptr);
}

MainLoopThread::MainLoopThread()
    : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "streamer-loop");
    g_main_context_push_thread_default(context_);
    g_main_loop_run(loop_);
    g_main_context_pop_thread_default(context_);
  });
}

MainLoopThread::~MainLoopThread() {
  // Queued after everything already invoked, so those run first.
  invoke([this] { g_main_loop_quit(loop_); });
  thread_.join();
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

namespace {
using Fn = std::function<void()>;
// A GSourceFunc running the std::function in `data`; kResult says whether it runs again.
template <gboolean kResult>
gboolean run(gpointer data) {
  try {
    (*static_cast<Fn*>(data))();
  } catch (const std::exception& e) {
    logger("streamer")->error("main loop task threw: {}", e.what());
  }
  return kResult;
}
void destroy_fn(gpointer data) {
  delete static_cast<Fn*>(data);
}

void attach(GMainContext* context, GSource* source, GSourceFunc f, Fn fn) {
  g_source_set_callback(source, f, new Fn(std::move(fn)), destroy_fn);
  g_source_attach(source, context);
  g_source_unref(source);
}
}  // namespace

void MainLoopThread::invoke(std::function<void()> fn) {
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);  // not starved by timers
  attach(context_, source, run<G_SOURCE_REMOVE>, std::move(fn));
}

void MainLoopThread::every(unsigned interval_ms, std::function<void()> fn) {
  attach(context_, g_timeout_source_new(interval_ms), run<G_SOURCE_CONTINUE>, std::move(fn));
}

void MainLoopThread::after(unsigned delay_ms, std::function<void()> fn) {
  attach(context_, g_timeout_source_new(delay_ms), run<G_SOURCE_REMOVE>, std::move(fn));
}

void finalize_later(MainLoopThread& loop, GstElement* stopped) {
  if (!stopped) return;
  // Held by the timer's closure: unreffed when the closure goes, after running or not.
  std::shared_ptr<GstElement> held(stopped, [](GstElement* e) { gst_object_unref(e); });
  loop.after(kFinalizeDelayMs, [held = std::move(held)] {});
}

}  // namespace ithaca::streamer
