// GStreamer plumbing shared by the streamer: initialisation, the start-up check that every
// element exists (naming the missing Debian package rather than failing later), the DTLS
// certificate warm-up, RAII for GObject references, and a GLib main loop on its own thread that
// owns all WebRTC state: docs/streaming.md, WebRTC facts 1, 2 and 7.
#pragma once

#include <glib.h>
#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ithaca/base/error.hpp"

namespace ithaca::streamer {

struct GstObjectUnref {
  void operator()(gpointer object) const {
    if (object) gst_object_unref(object);
  }
};
template <class T>
using GstPtr = std::unique_ptr<T, GstObjectUnref>;

// For plain GObjects (a GSocket, a NiceAgent), which gst_object_unref does not take.
struct GObjectUnref {
  void operator()(gpointer object) const {
    if (object) g_object_unref(object);
  }
};

struct GBytesUnref {
  void operator()(GBytes* bytes) const {
    if (bytes) g_bytes_unref(bytes);
  }
};
using GBytesPtr = std::unique_ptr<GBytes, GBytesUnref>;

struct GstBufferUnref {
  void operator()(GstBuffer* buffer) const {
    if (buffer) gst_buffer_unref(buffer);
  }
};
using GstBufferPtr = std::unique_ptr<GstBuffer, GstBufferUnref>;

// A buffer sharing `frame`'s memory (no byte is copied) without its timestamps, to push into
// another pipeline's appsrc: do-timestamp then stamps it with that pipeline's running time (the
// host pipeline's times are meaningless in a viewer's, which started later).
GstBuffer* retimed_copy(GstBuffer* frame);

// What both kinds of peer do to a fresh webrtcbin whose "sink_0" is linked to the video
// payloader: ICE kept local (keep_ice_local), the streamer's DTLS certificate presented (when
// set; see dtls_certificate.hpp), the STUN/TURN servers (when set), `caps_probe`
// on sink_0 for the first caps (put in before anything flows, or the first caps can slip past
// it), and the video transceiver made send-only.
struct DtlsCertificate;
Status prepare_send_only_video(GstElement* webrtcbin,
                               std::shared_ptr<const DtlsCertificate> dtls_certificate,
                               const std::string& stun_server, const std::string& turn_server,
                               GstPadProbeCallback caps_probe, gpointer probe_data);

// Keeps a webrtcbin's ICE agent on the addresses it is configured with: UPnP port mapping off
// (libnice turns it on by default and then multicasts SSDP discovery on the LAN for every
// session: traffic off this host that nobody asked for), and its checks paced kIcePacingMs
// apart. Call it on every webrtcbin, before its first offer or answer.
void keep_ice_local(GstElement* webrtcbin);
constexpr guint kIcePacingMs = 5;
// Whether the webrtcbin's ICE agent would try UPnP (what keep_ice_local turns off), for tests.
bool ice_upnp_enabled(GstElement* webrtcbin);

// Whether webrtcbin's video sink pad holds caps with the codec's parameters. The caps probe of
// prepare_send_only_video fires before the pad stores them, and H.264's first caps lack them
// (the payloader adds them once it saw the stream's SPS): an offer made before has no a=fmtp,
// which stacks such as aiortc refuse.
// A viewer's payloader sees no frame before its answer, so it asks only for caps
// (`codec_parameters` false).
bool video_caps_reached(GstElement* webrtcbin, bool codec_parameters = true);
// How long to wait before looking again when they have not.
constexpr unsigned kCapsRecheckMs = 2;

// Gathers UDP candidates only. TCP candidates (RFC 6544) are rarely usable for media and cost
// about 200 ms of gathering, which a non-trickle WHEP answer must wait for.
void disable_ice_tcp(GstElement* webrtcbin);

// Calls f(GstElement*) for every element inside `bin`, at any depth.
void for_each_element(GstElement* bin, const std::function<void(GstElement*)>& f);
// The first element made by `factory` inside the bin, at any depth (a reference), or null.
GstElement* find_by_factory(GstElement* bin, const char* factory);
// Whether `element` was made by `factory`.
bool made_by(GstElement* element, const char* factory);

// gst_init once per process (thread-safe, idempotent).
void init_gstreamer();

// The GStreamer elements an encoder needs, with the Debian package of each.
struct RequiredElement {
  std::string factory;
  std::string package;
};
std::vector<RequiredElement> required_elements(const std::string& encoder);
// config_invalid naming every missing element and its package.
Status check_elements(const std::string& encoder);

// Loads every plugin the encoder's peers use and readies the DTLS certificates now, rather than
// during the first offer, which would otherwise wait ~400 ms for them: GStreamer's own (every
// DTLS decoder generates it once per process, used or not) and `dtls_pem`'s, which stays loaded
// for the process's life instead of being parsed again whenever no peer holds it.
void warm_up(const std::string& encoder, const std::string& dtls_pem);

// A GLib main context run by one thread. invoke() runs a function on it (FIFO), from any
// thread; the functions run one at a time, so state touched only from them needs no lock.
class MainLoopThread {
 public:
  MainLoopThread();
  ~MainLoopThread();  // stops the loop after the functions already queued, joins
  MainLoopThread(const MainLoopThread&) = delete;
  MainLoopThread& operator=(const MainLoopThread&) = delete;

  void invoke(std::function<void()> fn);
  // Runs `fn` every `interval_ms` until the loop stops.
  void every(unsigned interval_ms, std::function<void()> fn);
  // Runs `fn` once after `delay_ms`.
  void after(unsigned delay_ms, std::function<void()> fn);
  GMainContext* context() const { return context_; }
  bool on_loop_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  GMainContext* context_;
  GMainLoop* loop_;
  std::thread thread_;
};

// Drops the last reference to a stopped pipeline kFinalizeDelayMs from now, on the loop:
// callbacks libnice already queued on webrtcbin's ICE thread must find its objects alive (a
// GStreamer 1.22 use-after-free otherwise). If the loop stops first, the reference goes then,
// rather than leaking with the timer that never ran.
constexpr unsigned kFinalizeDelayMs = 5000;
void finalize_later(MainLoopThread& loop, GstElement* stopped);

// For GStreamer callbacks (any thread) of an object that lives on a MainLoopThread: `data` is a
// std::weak_ptr<T>*, and T has a `MainLoopThread& loop`. Runs f(T&) on the loop unless the
// object is gone by then. The strong reference taken here is dropped before posting, so the
// last reference never dies on a GStreamer thread.
template <class T, class F>
void post_to_loop(gpointer data, F&& f) {
  auto weak = *static_cast<std::weak_ptr<T>*>(data);
  auto strong = weak.lock();
  if (!strong) return;
  MainLoopThread& loop = strong->loop;
  strong.reset();
  loop.invoke([weak = std::move(weak), f = std::forward<F>(f)]() mutable {
    if (auto self = weak.lock()) f(*self);
  });
}

}  // namespace ithaca::streamer
