#include "ithaca/streamer/viewer_peer.hpp"

#define GST_USE_UNSTABLE_API  // webrtcbin's library API is marked unstable in 1.22
#include <agent.h>
#include <gst/app/gstappsrc.h>
#include <gst/rtp/gstrtcpbuffer.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <sstream>

#include "ithaca/base/log.hpp"
#include "ithaca/streamer/direct_route.hpp"
#include "ithaca/streamer/ice_farewell.hpp"

namespace ithaca::streamer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("viewer");
  return l;
}

// WHEP clients wait for gathering themselves (the official SDK up to 5 s); ours is bounded too,
// so a host with a slow interface cannot hold a POST open.
constexpr unsigned kGatherTimeoutMs = 3000;
// Host candidates arrive within a few milliseconds of each other (see on_candidate).
constexpr unsigned kCandidateQuietMs = 25;
// A viewer whose receiver sent no RTCP for this long is gone (a browser closed without DELETE).
constexpr auto kSilenceLimit = std::chrono::seconds(20);
// DTLS exports the SRTP keys around the time the connection is reported up: the route is read
// again a few times before the media falls back to webrtcbin's path.
constexpr int kRouteAttempts = 5;
constexpr unsigned kRouteRetryMs = 20;

int64_t ms_between(std::chrono::steady_clock::time_point a,
                   std::chrono::steady_clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool rtcp_asks_for_key_frame(GstBuffer* rtcp) {
  GstRTCPBuffer buffer = GST_RTCP_BUFFER_INIT;
  if (!gst_rtcp_buffer_validate_reduced(rtcp) ||
      !gst_rtcp_buffer_map(rtcp, GST_MAP_READ, &buffer)) {
    return false;
  }
  bool asks = false;
  GstRTCPPacket packet;
  for (bool more = gst_rtcp_buffer_get_first_packet(&buffer, &packet); more && !asks;
       more = gst_rtcp_packet_move_to_next(&packet)) {
    if (gst_rtcp_packet_get_type(&packet) != GST_RTCP_TYPE_PSFB) continue;
    const GstRTCPFBType type = gst_rtcp_packet_fb_get_type(&packet);
    asks = type == GST_RTCP_PSFB_TYPE_PLI || type == GST_RTCP_PSFB_TYPE_FIR;
  }
  gst_rtcp_buffer_unmap(&buffer);
  return asks;
}

std::optional<int> choose_payload_type(const std::string& offer_sdp, const std::string& encoding) {
  // Only the first video m-line counts: a WHEP offer has one.
  std::map<int, std::string> codecs;  // pt -> encoding name, of the video m-line
  std::map<int, std::string> fmtp;    // pt -> format parameters (lower case)
  bool in_video = false, seen_video = false;
  std::istringstream in(offer_sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("m=", 0) == 0) {
      in_video = !seen_video && line.rfind("m=video ", 0) == 0;
      seen_video = seen_video || in_video;
      continue;
    }
    if (!in_video) continue;
    int pt = -1;
    char rest[128] = {0};
    if (std::sscanf(line.c_str(), "a=rtpmap:%d %127[^/]", &pt, rest) == 2) {
      codecs[pt] = lower(rest);
    } else if (std::sscanf(line.c_str(), "a=fmtp:%d %127s", &pt, rest) == 2) {
      fmtp[pt] = lower(rest);
    }
  }
  const std::string want = lower(encoding);
  std::optional<int> fallback;
  for (const auto& [pt, name] : codecs) {
    if (name != want) continue;
    if (want != "h264") return pt;
    const std::string& params = fmtp[pt];
    if (params.find("packetization-mode=1") == std::string::npos) continue;
    const auto at = params.find("profile-level-id=");
    const std::string profile = at == std::string::npos ? "" : params.substr(at + 17, 4);
    if (profile == "42e0" || profile == "42c0") return pt;  // constrained baseline
    if (profile == "4200" && !fallback) fallback = pt;      // baseline decodes it too
  }
  return fallback;
}

std::string reject_data_channels(const std::string& answer_sdp) {
  std::vector<std::string> lines;
  std::istringstream in(answer_sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  std::vector<std::string> rejected_mids;
  bool in_application = false;
  for (auto& line : lines) {
    if (line.rfind("m=", 0) == 0) {
      in_application = line.rfind("m=application ", 0) == 0;
      if (in_application) {
        const auto port_end = line.find(' ', 14);
        if (port_end != std::string::npos) line = "m=application 0" + line.substr(port_end);
      }
    } else if (in_application && line.rfind("a=mid:", 0) == 0) {
      rejected_mids.push_back(line.substr(6));
    }
  }
  std::string out;
  for (auto& line : lines) {
    if (line.rfind("a=group:BUNDLE", 0) == 0) {
      std::istringstream words(line.substr(14));
      std::string kept = "a=group:BUNDLE";
      for (std::string mid; words >> mid;) {
        if (std::find(rejected_mids.begin(), rejected_mids.end(), mid) == rejected_mids.end()) {
          kept += " " + mid;
        }
      }
      line = kept;
    }
    out += line + "\r\n";
  }
  return out;
}

struct ViewerPeer::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::string id, ViewerCallbacks cb, MainLoopThread& l)
      : viewer_id(std::move(id)), callbacks(std::move(cb)), loop(l) {}
  ~Impl() { teardown(); }

  Status build(const std::string& offer_sdp, GstCaps* encoded_caps, const PeerOptions& options,
               uint32_t ssrc) {
    certificate = options.dtls_certificate;
    const auto pt = choose_payload_type(offer_sdp, encoding_name(options.encoder));
    if (!pt) {
      return make_error(ErrorCode::invalid_request,
                        "the offer cannot receive " + encoding_name(options.encoder) +
                            " video (packetization-mode=1, baseline profile)");
    }
    payload_type = *pt;
    GstSDPMessage* sdp = nullptr;
    if (gst_sdp_message_new_from_text(offer_sdp.c_str(), &sdp) != GST_SDP_OK || !sdp) {
      if (sdp) gst_sdp_message_free(sdp);
      return make_error(ErrorCode::invalid_request, "the offer's SDP does not parse");
    }
    offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);  // takes sdp

    // The queue holds 8 frames (about a quarter second): enough to ride out a scheduling
    // hiccup, little enough that a viewer that cannot keep up skips ahead instead of lagging.
    const std::string description =
        "appsrc name=frames is-live=true format=time do-timestamp=true min-latency=0 "
        "max-buffers=8 leaky-type=downstream ! " +
        payloader_fragment(options.encoder, *pt, ssrc) +
        " ! webrtcbin name=webrtc bundle-policy=max-bundle";
    GError* error = nullptr;
    pipeline.reset(gst_parse_launch(description.c_str(), &error));
    if (!pipeline) {
      std::string why = error ? error->message : "unknown";
      if (error) g_error_free(error);
      return make_error(ErrorCode::streamer_failed, "viewer pipeline: " + why);
    }
    gst_object_ref_sink(pipeline.get());
    webrtc.reset(gst_bin_get_by_name(GST_BIN(pipeline.get()), "webrtc"));
    appsrc.reset(gst_bin_get_by_name(GST_BIN(pipeline.get()), "frames"));
    gst_app_src_set_caps(GST_APP_SRC(appsrc.get()), encoded_caps);
    disable_ice_tcp(webrtc.get());
    ref = new std::weak_ptr<Impl>(weak_from_this());
    // Negotiation waits for caps at webrtcbin, as for host peers: the answer then carries the
    // codec parameters.
    if (auto s =
            prepare_send_only_video(webrtc.get(), options.dtls_certificate, options.stun_server,
                                    options.turn_server, on_pad_event, ref);
        !s) {
      return s;
    }

    // Media enters webrtcbin's send path only once it is the way chosen. The first frame (which
    // carries the caps) is dropped here: webrtcbin would hold it until DTLS is up and send it
    // with its own SRTP state, and a receiver that saw it first would take the fan-out's
    // packets of the same stream for replays.
    if (GstPtr<GstPad> sink(gst_element_get_static_pad(webrtc.get(), "sink_0")); sink) {
      gst_pad_add_probe(
          sink.get(),
          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
          on_media, ref, nullptr);
    }
    g_signal_connect(webrtc.get(), "notify::connection-state", G_CALLBACK(on_connection_state),
                     ref);
    g_signal_connect(webrtc.get(), "notify::ice-gathering-state", G_CALLBACK(on_gathering_state),
                     ref);
    // With host candidates only, libnice reports gathering complete ~200 ms after the last
    // candidate; the answer goes out once candidates stop arriving for kCandidateQuietMs
    // instead. A STUN or TURN server's candidates take longer: then wait for completion.
    wait_for_complete = !options.stun_server.empty() || !options.turn_server.empty();
    g_signal_connect(webrtc.get(), "on-ice-candidate", G_CALLBACK(on_candidate), ref);
    // The spectator's RTCP, decrypted, on its way into rtpbin: receiver reports are its
    // heartbeat (libnice here does not check consent, so a browser that vanished without a
    // DELETE is noticed by its RTCP stopping), and PLI or FIR ask for a key frame. Read here
    // rather than from rtpbin's own handling, which acts on feedback only for streams it sent,
    // and the fan-out sends without it.
    if (GstPtr<GstElement> rtpbin(gst_bin_get_by_name(GST_BIN(webrtc.get()), "rtpbin")); rtpbin) {
      g_signal_connect(rtpbin.get(), "pad-added", G_CALLBACK(on_rtpbin_pad), ref);
      rtpbin_element = std::move(rtpbin);
    }

    if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      return make_error(ErrorCode::streamer_failed, "the viewer pipeline did not start");
    }
    accepting = true;
    return ok_status();
  }

  void teardown() {
    accepting = false;
    if (webrtc) g_signal_handlers_disconnect_by_data(webrtc.get(), ref);
    if (rtpbin_element) g_signal_handlers_disconnect_by_data(rtpbin_element.get(), ref);
    if (ice_agent) g_signal_handlers_disconnect_by_data(ice_agent.get(), ref);
    ice_agent.reset();
    if (pipeline) gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    if (offer) gst_webrtc_session_description_free(offer);
    offer = nullptr;
    rtpbin_element.reset();
    appsrc.reset();
    webrtc.reset();
    finalize_later(loop, pipeline.release());
    delete ref;
    ref = nullptr;
  }

  // ---- GStreamer callbacks: any thread; they only post to the loop ----

  template <class F>
  static void post(gpointer data, F&& f) {
    post_to_loop<Impl>(data, std::forward<F>(f));
  }

  static GstPadProbeReturn on_pad_event(GstPad*, GstPadProbeInfo* info, gpointer data) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
    post(data, [](Impl& self) { self.negotiate(); });
    return GST_PAD_PROBE_REMOVE;
  }

  static GstPadProbeReturn on_media(GstPad*, GstPadProbeInfo*, gpointer data) {
    auto* weak = static_cast<std::weak_ptr<Impl>*>(data);
    auto self = weak->lock();
    return self && self->mode == Mode::webrtcbin ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }

  static void on_rtpbin_pad(GstElement*, GstPad* pad, gpointer data) {
    if (!g_str_has_prefix(GST_PAD_NAME(pad), "recv_rtcp_sink_")) return;
    gst_pad_add_probe(
        pad,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        on_rtcp, data, nullptr);
  }

  static GstPadProbeReturn on_rtcp(GstPad*, GstPadProbeInfo* info, gpointer data) {
    bool asks = false;
    if (GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        info->type & GST_PAD_PROBE_TYPE_BUFFER) {
      asks = rtcp_asks_for_key_frame(buffer);
    } else if (GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info)) {
      for (guint i = 0; i < gst_buffer_list_length(list) && !asks; ++i) {
        asks = rtcp_asks_for_key_frame(gst_buffer_list_get(list, i));
      }
    }
    auto* weak = static_cast<std::weak_ptr<Impl>*>(data);
    if (auto self = weak->lock()) {
      self->last_rtcp_ns.store(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    if (asks) post(data, [](Impl& self) { self.callbacks.key_frame_wanted(); });
    return GST_PAD_PROBE_OK;
  }

  static void on_selected_pair(NiceAgent*, guint, guint, NiceCandidate*, NiceCandidate*,
                               gpointer data) {
    post(data, [](Impl& self) { self.reroute(); });
  }

  static void on_connection_state(GstElement* webrtc, GParamSpec*, gpointer data) {
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    post(data, [state](Impl& self) { self.connection_state(state); });
  }

  static void on_gathering_state(GstElement* webrtc, GParamSpec*, gpointer data) {
    GstWebRTCICEGatheringState state;
    g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) {
      post(data, [](Impl& self) { self.gathered(); });
    }
  }

  static void on_candidate(GstElement*, guint, gchar*, gpointer data) {
    post(data, [](Impl& self) { self.candidate_gathered(); });
  }

  // A promise's reply, posted to the loop with `step` run on it.
  template <class Step>
  GstPromise* promise_then(Step step) {
    struct Ctx {
      std::weak_ptr<Impl> weak;
      Step step;
    };
    auto* ctx = new Ctx{weak_from_this(), std::move(step)};
    return gst_promise_new_with_change_func(
        [](GstPromise* promise, gpointer data) {
          auto* c = static_cast<Ctx*>(data);
          GstStructure* reply = nullptr;
          if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
            if (const GstStructure* r = gst_promise_get_reply(promise))
              reply = gst_structure_copy(r);
          }
          gst_promise_unref(promise);
          auto weak = std::move(c->weak);
          auto step = std::move(c->step);
          delete c;
          auto strong = weak.lock();
          if (!strong) {
            if (reply) gst_structure_free(reply);
            return;
          }
          MainLoopThread& loop = strong->loop;
          strong.reset();
          loop.invoke([weak, step = std::move(step), reply]() mutable {
            if (auto self = weak.lock()) step(*self, reply);
            if (reply) gst_structure_free(reply);
          });
        },
        ctx, nullptr);
  }

  // ---- on the loop thread ----

  void negotiate() {
    if (negotiating || !offer) return;
    if (!video_caps_reached(webrtc.get(), /*codec_parameters=*/false)) {
      loop.after(kCapsRecheckMs, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->negotiate();
      });
      return;
    }
    negotiating = true;
    g_signal_emit_by_name(webrtc.get(), "set-remote-description", offer,
                          promise_then([](Impl& self, GstStructure*) { self.create_answer(); }));
  }

  void create_answer() {
    g_signal_emit_by_name(
        webrtc.get(), "create-answer", nullptr,
        promise_then([](Impl& self, GstStructure* reply) { self.answer_created(reply); }));
  }

  void answer_created(GstStructure* reply) {
    GstWebRTCSessionDescription* answer = nullptr;
    if (reply)
      gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
    if (!answer) {
      const GError* error = nullptr;
      if (reply) gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
      return finish(make_error(ErrorCode::invalid_request,
                               std::string("no answer to this offer: ") +
                                   (error ? error->message : "webrtcbin refused it")));
    }
    if (certificate) write_fingerprint(answer->sdp, *certificate);
    g_signal_emit_by_name(webrtc.get(), "set-local-description", answer, nullptr);
    gst_webrtc_session_description_free(answer);
    answer_set = true;
    loop.after(kGatherTimeoutMs, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->gathered();
    });
    GstWebRTCICEGatheringState state;
    g_object_get(webrtc.get(), "ice-gathering-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) gathered();
  }

  // Each candidate pushes the answer back by kCandidateQuietMs; when they stop (host
  // candidates come in a burst), the answer goes out if it carries at least one.
  void candidate_gathered() {
    if (wait_for_complete) return;
    last_candidate_at = std::chrono::steady_clock::now();
    if (quiet_timer_armed) return;
    quiet_timer_armed = true;
    loop.after(kCandidateQuietMs, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->quiet_check();
    });
  }

  void quiet_check() {
    quiet_timer_armed = false;
    if (answered) return;
    const auto quiet = std::chrono::steady_clock::now() - last_candidate_at;
    if (quiet >= std::chrono::milliseconds(kCandidateQuietMs) && local_sdp_has_candidate()) {
      return gathered();
    }
    quiet_timer_armed = true;  // more came, or none reached the description yet: look again
    loop.after(kCandidateQuietMs, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->quiet_check();
    });
  }

  std::string local_sdp() {
    GstWebRTCSessionDescription* local = nullptr;
    g_object_get(webrtc.get(), "local-description", &local, nullptr);
    if (!local) return {};
    gchar* text = gst_sdp_message_as_text(local->sdp);
    std::string sdp(text);
    g_free(text);
    gst_webrtc_session_description_free(local);
    return sdp;
  }

  bool local_sdp_has_candidate() {
    return answer_set && local_sdp().find("a=candidate:") != std::string::npos;
  }

  void gathered() {
    if (!answer_set || answered) return;
    std::string sdp = local_sdp();
    if (sdp.empty()) return finish(make_error(ErrorCode::streamer_failed, "no local description"));
    finish(reject_data_channels(sdp));
  }

  void finish(Result<std::string> answer) {
    if (answered) return;
    answered = true;
    answered_at = std::chrono::steady_clock::now();
    callbacks.answered(std::move(answer));
  }

  void connection_state(GstWebRTCPeerConnectionState state) {
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
      log()->info("viewer connected viewer={} offer_to_answer_ms={} answer_to_connected_ms={}",
                  viewer_id, ms_between(created_at, answered_at),
                  ms_between(answered_at, std::chrono::steady_clock::now()));
      last_rtcp_ns.store(std::chrono::steady_clock::now().time_since_epoch().count());
      connected = true;
      choose_route(kRouteAttempts);
    } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
      fail(make_error(ErrorCode::streamer_failed, "the viewer's WebRTC connection failed"));
    }
  }

  // Directly through the fan-out when it can take the route over, else through webrtcbin;
  // then the spectator needs a key frame to start on.
  void choose_route(int attempts_left) {
    if (failed || mode != Mode::pending) return;
    if (!callbacks.send_directly) return use_webrtcbin("the streamer sends through webrtcbin");
    auto route = read_direct_route(webrtc.get());
    if (!route && attempts_left > 1) {
      loop.after(kRouteRetryMs, [weak = weak_from_this(), attempts_left] {
        if (auto self = weak.lock()) self->choose_route(attempts_left - 1);
      });
      return;
    }
    if (!route) return use_webrtcbin(route.error().detail);
    route->payload_type = payload_type;
    if (!callbacks.send_directly(std::move(*route))) {
      return use_webrtcbin("the fan-out refused the route");
    }
    mode = Mode::direct;
    ice_agent.reset(ice_agent_of(webrtc.get()));
    if (ice_agent) {
      g_signal_connect(ice_agent.get(), "new-selected-pair-full", G_CALLBACK(on_selected_pair),
                       ref);
    }
    callbacks.key_frame_wanted();
  }

  void use_webrtcbin(const std::string& why) {
    log()->info("viewer sent through webrtcbin viewer={}: {}", viewer_id, why);
    mode = Mode::webrtcbin;
    callbacks.key_frame_wanted();
  }

  // ICE selected another pair: the fan-out follows it, or the viewer ends where it cannot
  // (webrtcbin's SRTP state is not the fan-out's, so the media cannot move back to it).
  void reroute() {
    if (failed || mode != Mode::direct) return;
    auto route = read_direct_route(webrtc.get());
    if (route) {
      route->payload_type = payload_type;
      if (callbacks.send_directly(std::move(*route))) return;
    }
    fail(make_error(ErrorCode::streamer_failed,
                    "ICE moved the viewer to a route the fan-out cannot send on" +
                        (route ? std::string() : ": " + route.error().detail)));
  }

  void tick() {
    if (!connected) return;
    const auto last = std::chrono::steady_clock::duration(last_rtcp_ns.load());
    if (std::chrono::steady_clock::now().time_since_epoch() - last > kSilenceLimit) {
      fail(make_error(ErrorCode::streamer_failed, "the viewer stopped sending receiver reports"));
    }
  }

  void fail(const Error& error) {
    if (failed) return;
    failed = true;
    log()->info("viewer gone viewer={}: {}", viewer_id, error.detail);
    callbacks.failed(error);
  }

  std::string viewer_id;
  ViewerCallbacks callbacks;
  MainLoopThread& loop;
  GstPtr<GstElement> pipeline, webrtc, appsrc, rtpbin_element;
  std::unique_ptr<GObject, GObjectUnref> ice_agent;  // watched while the fan-out sends
  int payload_type = 96;
  std::shared_ptr<const DtlsCertificate> certificate;  // the one presented, for the answer
  GstWebRTCSessionDescription* offer = nullptr;
  std::weak_ptr<Impl>* ref = nullptr;
  std::atomic<bool> accepting{false};
  // Which frames push() passes on: the first (its caps start negotiation); then, once the media
  // goes through webrtcbin, nothing until a key frame (the one asked for when the transport came
  // up, or the stream's next), then everything, so the spectator's decoder starts where it can.
  enum class Gate { caps, key_frame, open };
  std::atomic<Gate> gate{Gate::caps};
  // Who sends the media: undecided until the connection is up (push() passes nothing then).
  enum class Mode { pending, direct, webrtcbin };
  std::atomic<Mode> mode{Mode::pending};
  std::atomic<int64_t> last_rtcp_ns{0};
  bool negotiating = false;
  bool answer_set = false;
  bool answered = false;
  bool connected = false;
  bool failed = false;
  bool wait_for_complete = false;
  bool quiet_timer_armed = false;
  std::chrono::steady_clock::time_point last_candidate_at{};
  const std::chrono::steady_clock::time_point created_at = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point answered_at{};
};

Result<std::unique_ptr<ViewerPeer>> ViewerPeer::create(
    std::string viewer_id, const std::string& offer_sdp, GstCaps* encoded_caps,
    const PeerOptions& options, uint32_t ssrc, ViewerCallbacks callbacks, MainLoopThread& loop) {
  auto impl = std::make_shared<Impl>(std::move(viewer_id), std::move(callbacks), loop);
  if (auto s = impl->build(offer_sdp, encoded_caps, options, ssrc); !s) return s.error();
  return std::unique_ptr<ViewerPeer>(new ViewerPeer(std::move(impl)));
}

ViewerPeer::ViewerPeer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ViewerPeer::~ViewerPeer() {
  impl_->teardown();
}

void ViewerPeer::push(GstBuffer* frame) {
  if (!impl_->accepting) return;
  using Gate = Impl::Gate;
  switch (impl_->gate.load()) {
    case Gate::caps:  // one frame carries the caps negotiation waits for
      impl_->gate = Gate::key_frame;
      break;
    case Gate::key_frame:
      if (impl_->mode != Impl::Mode::webrtcbin) return;
      if (GST_BUFFER_FLAG_IS_SET(frame, GST_BUFFER_FLAG_DELTA_UNIT)) return;
      impl_->gate = Gate::open;
      break;
    case Gate::open:  // only ever reached through webrtcbin's path
      break;
  }
  gst_app_src_push_buffer(GST_APP_SRC(impl_->appsrc.get()), retimed_copy(frame));
}

void ViewerPeer::tick() {
  impl_->tick();
}

void ViewerPeer::say_goodbye() {
  if (!impl_->accepting.exchange(false) || !impl_->webrtc) return;
  if (impl_->mode == Impl::Mode::pending) return;  // never connected: no DTLS, no ICE pair
  // EOS through the media path stops at webrtcbin's funnels (the RTCP side never ends), so it
  // goes straight to each dtlsenc's sink pads.
  for_each_element(impl_->webrtc.get(), [](GstElement* element) {
    if (!made_by(element, "dtlsenc")) return;
    GstIterator* pads = gst_element_iterate_sink_pads(element);
    GValue pad = G_VALUE_INIT;
    while (gst_iterator_next(pads, &pad) == GST_ITERATOR_OK) {
      gst_pad_send_event(GST_PAD(g_value_get_object(&pad)), gst_event_new_eos());
      g_value_reset(&pad);
    }
    g_value_unset(&pad);
    gst_iterator_free(pads);
  });
  // close_notify closes only the DTLS transport in Chromium: ICE must fail too for the page to
  // see the connection end (ice_farewell.hpp).
  if (auto selected = duplicate_selected_socket(impl_->webrtc.get())) {
    IceFarewell::add(selected->fd, std::move(selected->password));
  }
}

const std::string& ViewerPeer::id() const {
  return impl_->viewer_id;
}

}  // namespace ithaca::streamer
