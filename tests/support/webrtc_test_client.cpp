#include "webrtc_test_client.hpp"

#define GST_USE_UNSTABLE_API
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "decoded_frame.hpp"
#include "ithaca/net/websocket.hpp"
#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::testing {

using nlohmann::json;

struct WebRtcTestClient::Impl : net::WebSocketHandler {
  Impl() {
    streamer::init_gstreamer();
    pipeline = gst_pipeline_new(nullptr);
    webrtc = gst_element_factory_make("webrtcbin", nullptr);
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
    streamer::keep_ice_local(webrtc);
    gst_bin_add(GST_BIN(pipeline), webrtc);
    g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), this);
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_pad_added), this);
    g_signal_connect(webrtc, "on-data-channel", G_CALLBACK(on_data_channel), this);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
  }

  ~Impl() override {
    g_signal_handlers_disconnect_by_data(webrtc, this);
    if (events_channel) g_signal_handlers_disconnect_by_data(events_channel, this);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    if (commands_channel) g_object_unref(commands_channel);
    if (events_channel) g_object_unref(events_channel);
    gst_object_unref(pipeline);
  }

  // ---- signaling ----
  void on_open(std::shared_ptr<net::WebSocketConnection> c) override {
    std::lock_guard lock(mu);
    ws = std::move(c);
  }

  void on_text(std::string text) override {
    json m = json::parse(text, nullptr, false);
    if (!m.is_object()) return;
    const std::string type = m.value("type", "");
    if (type == "offer") {
      GstSDPMessage* sdp = nullptr;
      gst_sdp_message_new_from_text(m.value("sdp", "").c_str(), &sdp);
      auto* offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
      GstPromise* promise = gst_promise_new_with_change_func(on_remote_set, this, nullptr);
      g_signal_emit_by_name(webrtc, "set-remote-description", offer, promise);
      gst_webrtc_session_description_free(offer);
    } else if (type == "ice_candidate") {
      const std::string candidate = m.value("candidate", "");
      if (!candidate.empty()) {
        g_signal_emit_by_name(webrtc, "add-ice-candidate", m.value("sdpMLineIndex", 0u),
                              candidate.c_str());
      }
    } else if (type == "error") {
      std::lock_guard lock(mu);
      signaling_error = m;
      cv.notify_all();
    }
  }

  void on_close(int code, std::string, bool) override {
    std::lock_guard lock(mu);
    closed = code;
    ws.reset();
    cv.notify_all();
  }

  void send(const json& m) {
    std::shared_ptr<net::WebSocketConnection> c;
    {
      std::lock_guard lock(mu);
      c = ws;
    }
    if (c) c->send_text(m.dump());
  }

  // ---- webrtcbin ----
  static void on_remote_set(GstPromise* promise, gpointer data) {
    gst_promise_unref(promise);
    auto* self = static_cast<Impl*>(data);
    GstPromise* answer = gst_promise_new_with_change_func(on_answer, self, nullptr);
    g_signal_emit_by_name(self->webrtc, "create-answer", nullptr, answer);
  }

  static void on_answer(GstPromise* promise, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    GstWebRTCSessionDescription* answer = nullptr;
    gst_structure_get(gst_promise_get_reply(promise), "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                      &answer, nullptr);
    gst_promise_unref(promise);
    if (!answer) return;
    g_signal_emit_by_name(self->webrtc, "set-local-description", answer, nullptr);
    gchar* text = gst_sdp_message_as_text(answer->sdp);
    self->send({{"type", "answer"}, {"sdp", text}});
    g_free(text);
    gst_webrtc_session_description_free(answer);
  }

  static void on_ice_candidate(GstElement*, guint mline, gchar* candidate, gpointer data) {
    static_cast<Impl*>(data)->send(
        {{"type", "ice_candidate"}, {"candidate", candidate}, {"sdpMLineIndex", mline}});
  }

  static void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    GstCaps* caps = gst_pad_get_current_caps(pad);
    const gchar* codec =
        caps ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name") : nullptr;
    const std::string depay = codec && std::string(codec) == "VP8"
                                  ? "rtpvp8depay ! vp8dec"
                                  : "rtph264depay ! h264parse ! openh264dec";
    if (caps) gst_caps_unref(caps);
    GstElement* bin = gst_parse_bin_from_description(
        (depay + " ! videoconvert ! video/x-raw,format=I420 ! appsink name=sink "
                 "emit-signals=true sync=false")
            .c_str(),
        TRUE, nullptr);
    gst_bin_add(GST_BIN(self->pipeline), bin);
    GstElement* sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
    g_signal_connect(sink, "new-sample", G_CALLBACK(on_sample), self);
    gst_object_unref(sink);
    gst_element_sync_state_with_parent(bin);
    GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
    gst_pad_link(pad, sinkpad);
    gst_object_unref(sinkpad);
  }

  static GstFlowReturn on_sample(GstElement* sink, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (auto frame = pull_decoded_frame(sink)) {
      std::lock_guard lock(self->mu);
      ++self->frames;
      if (frame->marker) self->marker = frame->marker;
      self->size = {frame->width, frame->height};
      self->cv.notify_all();
    }
    return GST_FLOW_OK;
  }

  static void on_data_channel(GstElement*, GstWebRTCDataChannel* channel, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    gchar* label = nullptr;
    g_object_get(channel, "label", &label, nullptr);
    const std::string name = label ? label : "";
    g_free(label);
    std::lock_guard lock(self->mu);
    if (name == "clientToStreamer") {
      self->commands_channel = GST_WEBRTC_DATA_CHANNEL(g_object_ref(channel));
    } else if (name == "streamerToClient") {
      self->events_channel = GST_WEBRTC_DATA_CHANNEL(g_object_ref(channel));
      g_signal_connect(channel, "on-message-string", G_CALLBACK(on_event), self);
    }
    self->cv.notify_all();
  }

  static void on_event(GstWebRTCDataChannel*, gchar* text, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    json m = json::parse(text ? text : "", nullptr, false);
    std::lock_guard lock(self->mu);
    self->events.push_back(std::move(m));
    self->cv.notify_all();
  }

  template <class Pred>
  bool wait(std::chrono::milliseconds timeout, Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }

  GstElement* pipeline = nullptr;
  GstElement* webrtc = nullptr;
  std::unique_ptr<net::WebSocketDialer> dialer;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<net::WebSocketConnection> ws;
  GstWebRTCDataChannel* commands_channel = nullptr;
  GstWebRTCDataChannel* events_channel = nullptr;
  std::deque<json> events;
  std::optional<json> signaling_error;
  std::optional<int> closed;
  int frames = 0;
  std::optional<uint16_t> marker;
  std::pair<int, int> size{0, 0};
};

WebRtcTestClient::WebRtcTestClient() : impl_(std::make_shared<Impl>()) {}
WebRtcTestClient::~WebRtcTestClient() {
  // The open connection holds the Impl as its handler: ending it first breaks that cycle.
  impl_->dialer.reset();
}

void WebRtcTestClient::connect(const json& credentials) {
  net::WebSocketOptions options;
  options.max_message_bytes = 36 * 1024 * 1024;
  impl_->dialer = std::make_unique<net::WebSocketDialer>(options);
  const std::string url = credentials.at("signaling_url").get<std::string>() + "/client/" +
                          credentials.at("session_id").get<std::string>() +
                          "?token=" + credentials.at("session_token").get<std::string>();
  // The handler is the Impl itself, kept alive by impl_ for the client's lifetime.
  impl_->dialer->dial(url, {}, std::shared_ptr<net::WebSocketHandler>(impl_, impl_.get()));
}

void WebRtcTestClient::disconnect() {
  impl_->send({{"type", "client_disconnecting"}});
  std::shared_ptr<net::WebSocketConnection> c;
  {
    std::lock_guard lock(impl_->mu);
    c = impl_->ws;
  }
  if (c) c->close(net::ws_close::normal, "bye");
}

void WebRtcTestClient::send_command(const json& command, bool over_signaling) {
  if (over_signaling) return impl_->send(command);
  GstWebRTCDataChannel* channel = nullptr;
  impl_->wait(std::chrono::seconds(5), [&] {
    if (!impl_->commands_channel) return false;
    GstWebRTCDataChannelState state;
    g_object_get(impl_->commands_channel, "ready-state", &state, nullptr);
    channel = impl_->commands_channel;
    return state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
  });
  if (channel) gst_webrtc_data_channel_send_string(channel, command.dump().c_str());
}

bool WebRtcTestClient::wait_frames(int count, std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [&] { return impl_->frames >= count; });
}

bool WebRtcTestClient::wait_marker(uint16_t sequence, std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [&] { return impl_->marker == sequence; });
}

std::optional<json> WebRtcTestClient::next_event(std::chrono::milliseconds timeout) {
  if (!impl_->wait(timeout, [&] { return !impl_->events.empty(); })) return std::nullopt;
  std::lock_guard lock(impl_->mu);
  json e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

std::optional<json> WebRtcTestClient::wait_signaling_error(std::chrono::milliseconds timeout) {
  impl_->wait(timeout, [&] { return impl_->signaling_error.has_value(); });
  std::lock_guard lock(impl_->mu);
  return impl_->signaling_error;
}

std::optional<int> WebRtcTestClient::wait_closed(std::chrono::milliseconds timeout) {
  impl_->wait(timeout, [&] { return impl_->closed.has_value(); });
  std::lock_guard lock(impl_->mu);
  return impl_->closed;
}

int WebRtcTestClient::frames() const {
  std::lock_guard lock(impl_->mu);
  return impl_->frames;
}

std::optional<uint16_t> WebRtcTestClient::last_marker() const {
  std::lock_guard lock(impl_->mu);
  return impl_->marker;
}

std::pair<int, int> WebRtcTestClient::frame_size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->size;
}

}  // namespace ithaca::testing
