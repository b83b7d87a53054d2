#include "ithaca/streamer/webrtc_peer.hpp"

#define GST_USE_UNSTABLE_API  // webrtcbin's library API is marked unstable in 1.22
#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>

#include "ithaca/base/log.hpp"
#include "ithaca/streamer/broadcast.hpp"

namespace ithaca::streamer {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("peer");
  return l;
}

// The a=mid values of an SDP, in m-line order, for the sdpMid of outgoing candidates.
std::vector<std::string> mids_of(const std::string& sdp) {
  std::vector<std::string> mids;
  std::istringstream in(sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("a=mid:", 0) == 0) mids.push_back(line.substr(6));
  }
  return mids;
}

// Whether an ICE candidate names its address by an mDNS name (Chromium hides host addresses
// behind "<uuid>.local"). libnice cannot resolve those, and its pending asynchronous resolve
// outlived a torn-down peer and crashed the ICE thread (GStreamer 1.22); the connection comes
// up through peer-reflexive candidates anyway (docs/streaming.md, WebRTC fact 6), so they are
// dropped.
bool is_mdns_candidate(const std::string& candidate) {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
  std::istringstream in(candidate);
  std::string field;
  for (int i = 0; i < 5 && in >> field; ++i) {
  }
  return field.size() > 6 && field.compare(field.size() - 6, 6, ".local") == 0;
}

// Frames go to GStreamer without a copy: a buffer wraps a pooled VideoFrame's memory and gives
// the frame back when GStreamer lets go of it (once encoded). Shared, because a buffer may
// outlive the peer that rendered it.
class FramePool : public std::enable_shared_from_this<FramePool> {
 public:
  std::unique_ptr<media::VideoFrame> take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<media::VideoFrame>();
    auto frame = std::move(free_.back());
    free_.pop_back();
    return frame;
  }

  // A read-only buffer over the frame's pixels; the frame returns to the pool with the buffer.
  GstBuffer* wrap(std::unique_ptr<media::VideoFrame> frame) {
    auto* lease = new Lease{shared_from_this(), std::move(frame)};
    std::vector<uint8_t>& bytes = lease->frame->data;
    return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, bytes.data(), bytes.size(), 0,
                                       bytes.size(), lease, &Lease::release);
  }

 private:
  struct Lease {
    std::shared_ptr<FramePool> pool;
    std::unique_ptr<media::VideoFrame> frame;
    static void release(gpointer data) {
      auto* lease = static_cast<Lease*>(data);
      lease->pool->give_back(std::move(lease->frame));
      delete lease;
    }
  };

  void give_back(std::unique_ptr<media::VideoFrame> frame) {
    std::lock_guard lock(mu_);
    if (free_.size() < kKeep) free_.push_back(std::move(frame));
  }

  static constexpr size_t kKeep = 4;  // appsrc queues 2, the encoder holds 1, 1 being rendered
  std::mutex mu_;
  std::vector<std::unique_ptr<media::VideoFrame>> free_;
};

}  // namespace

struct WebRtcPeer::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::string id, PeerOptions o, std::unique_ptr<StreamController> c, PeerCallbacks cb,
       MainLoopThread& l)
      : session_id(std::move(id)),
        options(std::move(o)),
        controller(std::move(c)),
        callbacks(std::move(cb)),
        loop(l) {}

  ~Impl() { teardown(); }

  // ---- set-up, on the loop thread ----

  Status build() {
    auto encoder = encoder_pipeline(options.encoder);
    if (!encoder) return std::move(encoder).error();
    // appsrc keeps at most two frames: when the encoder falls behind, old frames are dropped
    // rather than queued, so latency stays bounded.
    const std::string description =
        "appsrc name=frames is-live=true format=time do-timestamp=true min-latency=0 "
        "max-buffers=2 leaky-type=downstream ! " +
        *encoder + " ! webrtcbin name=webrtc bundle-policy=max-bundle";
    GError* error = nullptr;
    pipeline.reset(gst_parse_launch(description.c_str(), &error));
    if (!pipeline) {
      std::string why = error ? error->message : "unknown";
      if (error) g_error_free(error);
      return make_error(ErrorCode::streamer_failed, "pipeline: " + why);
    }
    gst_object_ref_sink(pipeline.get());
    webrtc.reset(gst_bin_get_by_name(GST_BIN(pipeline.get()), "webrtc"));
    appsrc.reset(gst_bin_get_by_name(GST_BIN(pipeline.get()), "frames"));
    encoder_element.reset(gst_bin_get_by_name(GST_BIN(pipeline.get()), "encoder"));
    encoded_element.reset(gst_bin_get_by_name(GST_BIN(pipeline.get()), "encoded"));
    ref = new std::weak_ptr<Impl>(weak_from_this());
    // A source's late faults (a model worker that crashed) come back to the loop as events.
    controller->set_event_poster(
        [weak = weak_from_this(), &l = loop](std::function<std::vector<json>()> job) {
          l.invoke([weak, job = std::move(job)] {
            auto self = weak.lock();
            if (!self || !self->controller) return;
            auto events = job();
            self->sync_broadcast();
            for (auto& event : events) self->send_event(event);
          });
        });
    // The caps probe goes in before the pipeline runs, so the first caps cannot slip past it
    // (docs/streaming.md, WebRTC fact 3: checking current caps first and then probing raced).
    if (auto s =
            prepare_send_only_video(webrtc.get(), options.dtls_certificate, options.stun_server,
                                    options.turn_server, on_pad_event, ref);
        !s) {
      return s;
    }

    g_signal_connect(webrtc.get(), "on-ice-candidate", G_CALLBACK(on_ice_candidate), ref);
    g_signal_connect(webrtc.get(), "notify::connection-state", G_CALLBACK(on_connection_state),
                     ref);

    if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      return make_error(ErrorCode::streamer_failed, "the pipeline did not start");
    }
    // Data channels after PLAYING and before the offer (docs/streaming.md, WebRTC fact 5).
    GstStructure* opts =
        gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN, TRUE, nullptr);
    g_signal_emit_by_name(webrtc.get(), "create-data-channel", "clientToStreamer", opts,
                          &commands_channel);
    g_signal_emit_by_name(webrtc.get(), "create-data-channel", "streamerToClient", opts,
                          &events_channel);
    gst_structure_free(opts);
    if (!commands_channel || !events_channel) {
      return make_error(ErrorCode::streamer_failed, "could not create the data channels");
    }
    g_signal_connect(commands_channel, "on-message-string", G_CALLBACK(on_command), ref);
    g_signal_connect(events_channel, "notify::ready-state", G_CALLBACK(on_channel_state), ref);

    running = true;
    frame_thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "frames");
      pump_frames();
    });
    return ok_status();
  }

  void teardown() {
    {
      std::lock_guard lock(pump_mu);
      running = false;
    }
    pump_cv.notify_all();
    if (frame_thread.joinable()) frame_thread.join();
    if (controller) controller->close();
    close_broadcast();
    if (webrtc) g_signal_handlers_disconnect_by_data(webrtc.get(), ref);
    if (commands_channel) g_signal_handlers_disconnect_by_data(commands_channel, ref);
    if (events_channel) g_signal_handlers_disconnect_by_data(events_channel, ref);
    if (pipeline) gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    if (commands_channel) g_object_unref(commands_channel);
    if (events_channel) g_object_unref(events_channel);
    commands_channel = events_channel = nullptr;
    encoder_element.reset();
    encoded_element.reset();
    appsrc.reset();
    webrtc.reset();
    finalize_later(loop, pipeline.release());
    delete ref;  // the streaming threads that could read it are gone
    ref = nullptr;
  }

  // ---- the frame thread ----

  void pump_frames() {
    using clock = std::chrono::steady_clock;
    auto pool = std::make_shared<FramePool>();
    int width = 0, height = 0, rate = 0;
    auto next = clock::now();
    for (int64_t index = 0;; ++index) {
      auto frame_ptr = pool->take();
      media::VideoFrame& frame = *frame_ptr;
      if (auto s = controller->render(frame, index); s) {
        const media::StreamFormat format = controller->format();
        if (frame.width != width || frame.height != height || format.frame_rate != rate) {
          width = frame.width;
          height = frame.height;
          rate = format.frame_rate;
          GstCaps* caps = gst_caps_new_simple(
              "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, width, "height",
              G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION, rate, 1, nullptr);
          gst_app_src_set_caps(GST_APP_SRC(appsrc.get()), caps);
          gst_caps_unref(caps);
        }
        GstBuffer* buffer = pool->wrap(std::move(frame_ptr));
        GST_BUFFER_DURATION(buffer) = GST_SECOND / std::max(rate, 1);
        gst_app_src_push_buffer(GST_APP_SRC(appsrc.get()), buffer);  // takes the buffer
      } else if (index == 0) {
        log()->error("render failed session={}: {}", session_id, s.error().to_string());
      }
      const auto interval = std::chrono::nanoseconds(1'000'000'000 / std::max(rate, 1));
      next += interval;
      const auto now = clock::now();
      if (now > next + 4 * interval) next = now;  // fell far behind: skip, do not burst
      std::unique_lock lock(pump_mu);
      if (held) {  // a prepared peer: one frame made the caps; nothing more until start()
        pump_cv.wait(lock, [this] { return !running || !held; });
        next = clock::now();
      }
      if (pump_cv.wait_until(lock, next, [this] { return !running; })) return;
    }
  }

  // ---- GStreamer callbacks: any thread; they only post to the loop ----

  template <class F>
  static void post(gpointer data, F&& f) {
    post_to_loop<Impl>(data, std::forward<F>(f));
  }

  static GstPadProbeReturn on_pad_event(GstPad*, GstPadProbeInfo* info, gpointer data) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
    post(data, [](Impl& self) { self.caps_ready(); });
    return GST_PAD_PROBE_REMOVE;  // caps_ready waits for complete ones (video_caps_reached)
  }

  static void on_ice_candidate(GstElement*, guint mline, gchar* candidate, gpointer data) {
    post(data, [mline, c = std::string(candidate)](Impl& self) { self.send_candidate(mline, c); });
  }

  static void on_connection_state(GstElement* webrtc, GParamSpec*, gpointer data) {
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    post(data, [state](Impl& self) { self.connection_state(state); });
  }

  static void on_command(GstWebRTCDataChannel*, gchar* text, gpointer data) {
    post(data, [t = std::string(text ? text : "")](Impl& self) { self.command(t); });
  }

  static void on_channel_state(GstWebRTCDataChannel* channel, GParamSpec*, gpointer data) {
    GstWebRTCDataChannelState state;
    g_object_get(channel, "ready-state", &state, nullptr);
    if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN) {
      post(data, [](Impl& self) { self.events_open(); });
    }
  }

  static void on_offer_created(GstPromise* promise, gpointer data) {
    GstWebRTCSessionDescription* offer = nullptr;
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
      const GstStructure* reply = gst_promise_get_reply(promise);
      gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
    }
    gst_promise_unref(promise);
    auto* weak = static_cast<std::weak_ptr<Impl>*>(data);
    post(weak, [offer](Impl& self) { self.offer_created(offer); });
    delete weak;
  }

  // ---- on the loop thread ----

  void caps_ready() {
    if (offered || !started) return;  // a prepared peer offers when it starts
    if (!video_caps_reached(webrtc.get())) {
      loop.after(kCapsRecheckMs, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->caps_ready();
      });
      return;
    }
    offered = true;
    // Its own weak reference: the promise may complete after teardown freed `ref`.
    auto* weak = new std::weak_ptr<Impl>(weak_from_this());
    GstPromise* promise = gst_promise_new_with_change_func(on_offer_created, weak, nullptr);
    g_signal_emit_by_name(webrtc.get(), "create-offer", nullptr, promise);
  }

  void offer_created(GstWebRTCSessionDescription* offer) {
    if (!offer) return fail(make_error(ErrorCode::streamer_failed, "could not create an offer"));
    if (options.dtls_certificate) write_fingerprint(offer->sdp, *options.dtls_certificate);
    gchar* text = gst_sdp_message_as_text(offer->sdp);
    const std::string sdp(text);
    g_free(text);
    mids = mids_of(sdp);
    // The offer goes out before set-local-description starts gathering, so the client never
    // sees a candidate before the offer it belongs to.
    callbacks.to_client(json{{"type", "offer"}, {"sdp", sdp}});
    g_signal_emit_by_name(webrtc.get(), "set-local-description", offer, nullptr);
    gst_webrtc_session_description_free(offer);
    log()->debug("offer sent session={}", session_id);
  }

  void send_candidate(guint mline, const std::string& candidate) {
    json m = {{"type", "ice_candidate"}, {"candidate", candidate}, {"sdpMLineIndex", mline}};
    m["sdpMid"] = mline < mids.size() ? json(mids[mline]) : json(nullptr);
    callbacks.to_client(m);
  }

  void connection_state(GstWebRTCPeerConnectionState state) {
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
      log()->info("media connected session={}", session_id);
      force_key_frame();
    } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
      fail(make_error(ErrorCode::streamer_failed, "the WebRTC connection failed"));
    }
  }

  void force_key_frame() {
    GstPtr<GstPad> pad(gst_element_get_static_pad(encoder_element.get(), "src"));
    if (pad) {
      gst_pad_send_event(pad.get(),
                         gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    }
  }

  void fail(const Error& error) {
    if (failed) return;
    failed = true;
    log()->warn("peer failed session={}: {}", session_id, error.to_string());
    if (started) callbacks.failed(error);  // a prepared one is dropped unused (usable())
  }

  void set_answer(const std::string& sdp_text) {
    GstSDPMessage* sdp = nullptr;
    if (gst_sdp_message_new_from_text(sdp_text.c_str(), &sdp) != GST_SDP_OK || !sdp) {
      if (sdp) gst_sdp_message_free(sdp);
      return send_event(stream_error_event(
          make_error(ErrorCode::invalid_command, "the answer's SDP does not parse"), std::nullopt));
    }
    GstWebRTCSessionDescription* answer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);  // takes sdp
    g_signal_emit_by_name(webrtc.get(), "set-remote-description", answer, nullptr);
    gst_webrtc_session_description_free(answer);
  }

  void add_candidate(const json& m) {
    const auto candidate = m.find("candidate");
    if (candidate == m.end() || !candidate->is_string()) return;
    const std::string& c = candidate->get_ref<const std::string&>();
    if (c.empty()) return;  // end-of-candidates
    if (is_mdns_candidate(c)) return;
    guint mline = 0;
    if (const auto index = m.find("sdpMLineIndex");
        index != m.end() && index->is_number_unsigned()) {
      mline = index->get<guint>();
    } else if (const auto mid = m.find("sdpMid"); mid != m.end() && mid->is_string()) {
      for (guint i = 0; i < mids.size(); ++i) {
        if (mids[i] == mid->get_ref<const std::string&>()) mline = i;
      }
    }
    // Candidates are per m-line; with max-bundle everything rides the first transport anyway.
    g_signal_emit_by_name(webrtc.get(), "add-ice-candidate", mline, c.c_str());
  }

  void command(const std::string& text) {
    auto parsed = parse_command_text(text);
    if (!parsed) {
      for (auto& event : controller->handle_text(text)) send_event(event);
      return;
    }
    apply(*parsed);
  }

  // Applies a command, and opens or closes the broadcast as the stream starts or ends.
  void apply(const Command& c) {
    const auto* start = std::get_if<StartCommand>(&c.body);
    auto events = controller->handle(c);
    // A stream that is over stops being shared before its client hears that it is: a spectator
    // who joins on the host's word then finds the broadcast gone, not full.
    sync_broadcast();
    for (auto& event : events) {
      send_event(event);
      if (start && start->broadcast && event.value("type", "") == "stream_started") {
        close_broadcast();
        open_broadcast(event.value("stream_id", ""), c.request_id);
      }
    }
  }

  // ---- broadcast ----

  void open_broadcast(const std::string& stream_id, const std::optional<std::string>& request_id) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(encoded_element.get(), "src"));
    GstCaps* caps = pad ? gst_pad_get_current_caps(pad.get()) : nullptr;
    if (!caps) {
      return send_event(broadcast_error(
          make_error(ErrorCode::streamer_failed, "the encoder has not produced a frame yet")));
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    BroadcastCallbacks cb;
    cb.to_server = [weak](const json& m) {
      if (auto self = weak.lock()) self->callbacks.to_server(m);
    };
    cb.key_frame = [weak] {
      if (auto self = weak.lock()) self->force_key_frame();
    };
    broadcast =
        std::make_shared<Broadcast>(session_id, stream_id, caps, options, std::move(cb), loop);
    gst_caps_unref(caps);
    broadcast_request_id = request_id;
    const bool hls = broadcast->start_hls();
    // The probe holds the broadcast: a frame in flight keeps it alive after close_broadcast().
    broadcast_probe = gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) {
          (*static_cast<std::shared_ptr<Broadcast>*>(data))->feed(GST_PAD_PROBE_INFO_BUFFER(info));
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<Broadcast>(broadcast),
        [](gpointer data) { delete static_cast<std::shared_ptr<Broadcast>*>(data); });
    callbacks.to_server(json{{"type", "broadcast_open"},
                             {"session_id", session_id},
                             {"stream_id", stream_id},
                             {"hls", hls}});
  }

  // Closes the broadcast once its stream is over (ended, capped, or replaced).
  void sync_broadcast() {
    if (broadcast && controller->stream_id() != broadcast->stream_id()) close_broadcast();
  }

  void close_broadcast() {
    if (!broadcast) return;
    if (GstPtr<GstPad> pad(gst_element_get_static_pad(encoded_element.get(), "src")); pad) {
      gst_pad_remove_probe(pad.get(), broadcast_probe);
    }
    callbacks.to_server(json{{"type", "broadcast_close"},
                             {"session_id", session_id},
                             {"stream_id", broadcast->stream_id()}});
    broadcast.reset();  // the probe's reference goes once no frame is in flight
  }

  static json broadcast_error(const Error& error) {
    return {{"type", "broadcast_error"},
            {"reason", std::string(error.name())},
            {"message", error.detail}};
  }

  void server_message(const json& m) {
    const std::string type = m.value("type", "");
    const std::string stream_id = m.value("stream_id", "");
    const bool ours = broadcast && broadcast->stream_id() == stream_id;
    if (type == "broadcast_opened" && ours) {
      json ready = {{"type", "broadcast_ready"},
                    {"stream_id", stream_id},
                    {"webrtc_url", m.value("webrtc_url", "")},
                    {"spectator_token", m.value("spectator_token", "")}};
      if (m.contains("broadcast_url") && m["broadcast_url"].is_string()) {
        ready["broadcast_url"] = m["broadcast_url"];
      }
      if (broadcast_request_id) ready["request_id"] = *broadcast_request_id;
      send_event(ready);
    } else if (type == "broadcast_refused" && ours) {
      send_event(broadcast_error(make_error(
          ErrorCode::streamer_failed,
          "the server refused the broadcast: " + m.value("message", std::string("no reason")))));
      close_broadcast();
    } else if (type == "viewer_offer") {
      const std::string viewer = m.value("viewer_id", "");
      if (!ours) {
        callbacks.to_server(viewer_failed_message(
            session_id, stream_id, viewer,
            make_error(ErrorCode::stream_not_found, "the broadcast is over")));
        return;
      }
      broadcast->add_viewer(viewer, m.value("sdp", ""));
    } else if (type == "viewer_close" && ours) {
      broadcast->remove_viewer(m.value("viewer_id", ""));
    }
  }

  void send_event(const json& event) {
    if (!events_ready) {
      pending_events.push_back(event.dump());
      return;
    }
    gst_webrtc_data_channel_send_string(events_channel, event.dump().c_str());
  }

  void events_open() {
    events_ready = true;
    for (auto& e : pending_events) gst_webrtc_data_channel_send_string(events_channel, e.c_str());
    pending_events.clear();
  }

  std::string session_id;
  PeerOptions options;
  std::unique_ptr<StreamController> controller;
  PeerCallbacks callbacks;
  MainLoopThread& loop;

  GstPtr<GstElement> pipeline, webrtc, appsrc, encoder_element, encoded_element;
  std::shared_ptr<Broadcast> broadcast;  // while a broadcast stream runs
  gulong broadcast_probe = 0;
  std::optional<std::string> broadcast_request_id;
  GstWebRTCDataChannel* commands_channel = nullptr;
  GstWebRTCDataChannel* events_channel = nullptr;
  std::weak_ptr<Impl>* ref = nullptr;  // user data of every signal handler
  std::vector<std::string> mids;
  bool offered = false;
  bool failed = false;
  bool events_ready = false;
  std::deque<std::string> pending_events;

  std::mutex pump_mu;
  std::condition_variable pump_cv;
  bool running = false;
  bool held = false;    // a prepared peer's frame thread, waiting for start()
  bool started = true;  // false while prepared: no session, no callbacks yet
  std::thread frame_thread;
};

Result<std::unique_ptr<WebRtcPeer>> WebRtcPeer::create(std::string session_id, PeerOptions options,
                                                       std::unique_ptr<StreamController> controller,
                                                       PeerCallbacks callbacks,
                                                       MainLoopThread& loop) {
  auto impl = std::make_shared<Impl>(std::move(session_id), std::move(options),
                                     std::move(controller), std::move(callbacks), loop);
  if (auto s = impl->build(); !s) return s.error();
  return std::unique_ptr<WebRtcPeer>(new WebRtcPeer(std::move(impl)));
}

Result<std::unique_ptr<WebRtcPeer>> WebRtcPeer::prepare(
    PeerOptions options, std::unique_ptr<StreamController> controller, MainLoopThread& loop) {
  auto impl = std::make_shared<Impl>(std::string(), std::move(options), std::move(controller),
                                     PeerCallbacks{}, loop);
  impl->started = false;
  impl->held = true;
  if (auto s = impl->build(); !s) return s.error();
  return std::unique_ptr<WebRtcPeer>(new WebRtcPeer(std::move(impl)));
}

void WebRtcPeer::start(std::string session_id, PeerCallbacks callbacks) {
  auto& i = *impl_;
  if (i.started) return;
  i.session_id = std::move(session_id);
  i.callbacks = std::move(callbacks);
  i.started = true;
  {
    std::lock_guard lock(i.pump_mu);
    i.held = false;
  }
  i.pump_cv.notify_all();
  i.caps_ready();  // offers now if the caps are in, as they usually are by then
}

bool WebRtcPeer::usable() const {
  return !impl_->failed;
}

WebRtcPeer::WebRtcPeer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebRtcPeer::~WebRtcPeer() {
  impl_->teardown();
}

void WebRtcPeer::handle_client_message(const json& message) {
  const auto type = message.find("type");
  const std::string t = type != message.end() && type->is_string() ? type->get<std::string>() : "";
  if (t == "answer") {
    const auto sdp = message.find("sdp");
    if (sdp != message.end() && sdp->is_string()) return impl_->set_answer(sdp->get<std::string>());
  } else if (t == "ice_candidate") {
    return impl_->add_candidate(message);
  } else if (t == "interactive_stream_start") {
    auto command = parse_command(message);
    if (!command) {
      return impl_->send_event(stream_error_event(command.error(), request_id_in(message)));
    }
    return impl_->apply(*command);
  }
  impl_->send_event(stream_error_event(
      make_error(ErrorCode::invalid_command, "unexpected signaling message '" + t + "'"),
      std::nullopt));
}

void WebRtcPeer::handle_server_message(const json& message) {
  impl_->server_message(message);
}

void WebRtcPeer::tick() {
  auto events = impl_->controller->tick();
  impl_->sync_broadcast();  // as in apply: the broadcast closes before the client is told
  for (auto& event : events) impl_->send_event(event);
  if (impl_->broadcast) impl_->broadcast->tick();
}

std::optional<TimePoint> WebRtcPeer::idle_since() const {
  return impl_->controller->idle_since();
}

const std::string& WebRtcPeer::session_id() const {
  return impl_->session_id;
}

}  // namespace ithaca::streamer
