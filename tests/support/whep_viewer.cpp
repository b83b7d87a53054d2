#include "whep_viewer.hpp"

#include "decoded_frame.hpp"

#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <condition_variable>
#include <mutex>

#include "ithaca/net/http_client.hpp"
#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Url {
  std::string host;
  uint16_t port = 0;
  std::string path;
};

std::optional<Url> parse_http_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  const auto rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  Url u;
  u.host = authority.substr(0, colon);
  u.port = static_cast<uint16_t>(std::stoi(authority.substr(colon + 1)));
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  return u;
}

}  // namespace

struct WhepViewer::Impl {
  explicit Impl(bool d) : decode(d) {
    streamer::init_gstreamer();
    pipeline = gst_pipeline_new(nullptr);
    webrtc = gst_element_factory_make("webrtcbin", nullptr);
    // webrtcbin's jitter buffer holds 200 ms by default; a browser's adapts to the network,
    // which on loopback is a few milliseconds: 20 ms keeps time-to-first-frame comparable.
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 20u,
                 nullptr);
    streamer::keep_ice_local(webrtc);
    gst_bin_add(GST_BIN(pipeline), webrtc);
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_pad_added), this);
    g_signal_connect(webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering), this);
    g_signal_connect(webrtc, "notify::connection-state", G_CALLBACK(on_connection), this);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    // What a browser offers: H.264 constrained baseline and baseline, VP8, and audio.
    GstCaps* video = gst_caps_from_string(
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000;"
        "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42001f;"
        "application/x-rtp,media=video,encoding-name=H264,payload=127,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f");
    GstCaps* audio = gst_caps_from_string(
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000");
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          video, &t);
    if (t) gst_object_unref(t);
    g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          audio, &t);
    if (t) gst_object_unref(t);
    gst_caps_unref(video);
    gst_caps_unref(audio);
  }

  ~Impl() {
    g_signal_handlers_disconnect_by_data(webrtc, this);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }

  static void on_gathering(GstElement* element, GParamSpec*, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    GstWebRTCICEGatheringState state;
    g_object_get(element, "ice-gathering-state", &state, nullptr);
    std::lock_guard lock(self->mu);
    self->gathered = state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
    self->cv.notify_all();
  }

  static void on_connection(GstElement* element, GParamSpec*, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    GstWebRTCPeerConnectionState state;
    g_object_get(element, "connection-state", &state, nullptr);
    std::lock_guard lock(self->mu);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) self->connected_at = Clock::now();
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ||
        state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED ||
        state == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED) {
      self->media_closed = true;
    }
    self->cv.notify_all();
  }

  static void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    GstElement* bin;
    if (self->decode) {
      bin = gst_parse_bin_from_description(
          "rtph264depay ! h264parse ! openh264dec ! videoconvert ! video/x-raw,format=I420 ! "
          "appsink name=sink emit-signals=true sync=false",
          TRUE, nullptr);
      GstElement* sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
      g_signal_connect(sink, "new-sample", G_CALLBACK(on_sample), self);
      gst_object_unref(sink);
    } else {
      bin = gst_parse_bin_from_description("fakesink sync=false async=false", TRUE, nullptr);
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_packet, self, nullptr);
    }
    gst_bin_add(GST_BIN(self->pipeline), bin);
    gst_element_sync_state_with_parent(bin);
    GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
    gst_pad_link(pad, sinkpad);
    gst_object_unref(sinkpad);
  }

  static GstPadProbeReturn on_packet(GstPad*, GstPadProbeInfo*, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    std::lock_guard lock(self->mu);
    self->count_frame_locked();
    return GST_PAD_PROBE_OK;
  }

  static GstFlowReturn on_sample(GstElement* sink, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (auto frame = pull_decoded_frame(sink)) {
      std::lock_guard lock(self->mu);
      self->count_frame_locked();
      if (frame->marker) self->marker = frame->marker;
    }
    return GST_FLOW_OK;
  }

  void count_frame_locked() {
    if (frames++ == 0) first_frame_at = Clock::now();
    cv.notify_all();
  }

  template <class Pred>
  bool wait(std::chrono::milliseconds timeout, Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }

  // A promise's reply, waited for on the calling thread.
  static GstStructure* await(GstPromise* promise) {
    gst_promise_wait(promise);
    const GstStructure* reply = gst_promise_get_reply(promise);
    GstStructure* copy = reply ? gst_structure_copy(reply) : nullptr;
    gst_promise_unref(promise);
    return copy;
  }

  const bool decode;
  GstElement* pipeline = nullptr;
  GstElement* webrtc = nullptr;
  std::optional<Url> url;
  std::string location;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool gathered = false;
  bool media_closed = false;
  int frames = 0;
  std::optional<uint16_t> marker;
  Clock::time_point posted_at{}, answered_at{}, connected_at{}, first_frame_at{};
};

WhepViewer::WhepViewer(bool decode) : impl_(std::make_shared<Impl>(decode)) {}
WhepViewer::~WhepViewer() = default;

Result<net::HttpResponse> WhepViewer::connect(const std::string& webrtc_url,
                                              const std::string& token) {
  auto& i = *impl_;
  i.url = parse_http_url(webrtc_url);
  if (!i.url) return make_error(ErrorCode::invalid_request, "not an http:// URL: " + webrtc_url);

  GstStructure* reply = Impl::await([&] {
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(i.webrtc, "create-offer", nullptr, p);
    return p;
  }());
  GstWebRTCSessionDescription* offer = nullptr;
  if (reply)
    gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  if (reply) gst_structure_free(reply);
  if (!offer) return make_error(ErrorCode::internal, "no offer");
  g_signal_emit_by_name(i.webrtc, "set-local-description", offer, nullptr);
  gst_webrtc_session_description_free(offer);
  // Non-trickle, like the official SDK: wait for every candidate (at most 5 s).
  i.wait(std::chrono::seconds(5), [&] { return i.gathered; });
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(i.webrtc, "local-description", &local, nullptr);
  if (!local) return make_error(ErrorCode::internal, "no local description");
  gchar* text = gst_sdp_message_as_text(local->sdp);
  const std::string sdp = text;
  g_free(text);
  gst_webrtc_session_description_free(local);

  {
    std::lock_guard lock(i.mu);
    i.posted_at = Clock::now();
  }
  net::HttpClient http(i.url->host, i.url->port);
  auto response = http.request("POST", i.url->path + "/whep?token=" + token, sdp,
                               {{"Content-Type", "application/sdp"}});
  {
    std::lock_guard lock(i.mu);
    i.answered_at = Clock::now();
  }
  if (!response || response->status != 201) return response;
  for (const auto& [k, v] : response->headers) {
    if (k == "Location" || k == "location") i.location = v;
  }
  GstSDPMessage* answer_sdp = nullptr;
  if (gst_sdp_message_new_from_text(response->body.c_str(), &answer_sdp) != GST_SDP_OK) {
    return make_error(ErrorCode::internal, "the answer does not parse");
  }
  auto* answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, answer_sdp);
  reply = Impl::await([&] {
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(i.webrtc, "set-remote-description", answer, p);
    return p;
  }());
  if (reply) gst_structure_free(reply);
  gst_webrtc_session_description_free(answer);
  return response;
}

Result<int> WhepViewer::leave() {
  auto& i = *impl_;
  if (!i.url || i.location.empty()) return make_error(ErrorCode::invalid_request, "not joined");
  net::HttpClient http(i.url->host, i.url->port);
  auto response = http.request("DELETE", i.location);
  if (!response) return response.error();
  return response->status;
}

bool WhepViewer::wait_frames(int count, std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [&] { return impl_->frames >= count; });
}

bool WhepViewer::wait_marker(uint16_t sequence, std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [&] { return impl_->marker == sequence; });
}

bool WhepViewer::wait_media_closed(std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [&] { return impl_->media_closed; });
}

int WhepViewer::frames() const {
  std::lock_guard lock(impl_->mu);
  return impl_->frames;
}

std::optional<uint16_t> WhepViewer::last_marker() const {
  std::lock_guard lock(impl_->mu);
  return impl_->marker;
}

std::optional<std::chrono::microseconds> WhepViewer::time_to_first_frame() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->frames == 0) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(impl_->first_frame_at -
                                                               impl_->posted_at);
}

std::string WhepViewer::timeline() const {
  std::lock_guard lock(impl_->mu);
  auto ms = [&](Clock::time_point t) {
    return t == Clock::time_point{}
               ? -1.0
               : std::chrono::duration<double, std::milli>(t - impl_->posted_at).count();
  };
  char text[128];
  std::snprintf(text, sizeof text, "answer %.0f ms, connected %.0f ms, first frame %.0f ms",
                ms(impl_->answered_at), ms(impl_->connected_at), ms(impl_->first_frame_at));
  return text;
}

const std::string& WhepViewer::location() const {
  return impl_->location;
}

}  // namespace ithaca::testing
