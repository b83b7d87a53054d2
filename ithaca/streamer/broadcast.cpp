#include "ithaca/streamer/broadcast.hpp"

#include <cstring>

#include "ithaca/base/encoding.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"

namespace ithaca::streamer {
namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("broadcast");
  return l;
}

uint32_t random_ssrc() {
  const std::string bytes = random_bytes(4);
  uint32_t ssrc = 0;
  std::memcpy(&ssrc, bytes.data(), sizeof ssrc);
  return ssrc;
}

}  // namespace

json viewer_failed_message(const std::string& session_id, const std::string& stream_id,
                           const std::string& viewer_id, const Error& error) {
  return {{"type", "viewer_failed"},
          {"session_id", session_id},
          {"stream_id", stream_id},
          {"viewer_id", viewer_id},
          {"reason", std::string(error.name())},
          {"message", error.detail}};
}

Broadcast::Broadcast(std::string session_id, std::string stream_id, GstCaps* encoded_caps,
                     PeerOptions options, BroadcastCallbacks callbacks, MainLoopThread& loop)
    : session_id_(std::move(session_id)),
      stream_id_(std::move(stream_id)),
      caps_(gst_caps_ref(encoded_caps)),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      loop_(loop),
      ssrc_(random_ssrc()) {
  if (!options_.spectators_direct) return;
  auto packetizer = RtpPacketizer::create(options_.encoder, caps_, ssrc_);
  if (!packetizer) {
    log()->warn("stream={}: spectators go through webrtcbin: {}", stream_id_,
                packetizer.error().to_string());
    return;
  }
  // On the fan-out thread; the throttle lives on the loop.
  auto key_frame_wanted = [this, &loop] {
    loop.invoke([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->request_key_frame();
    });
  };
  fanout_ = std::make_unique<SpectatorFanout>(std::move(*packetizer), key_frame_wanted);
}

Broadcast::~Broadcast() {
  if (fanout_) {
    const auto c = fanout_->counters();
    log()->info("fan-out of stream={}: frames={} packets_sent={} packets_lost={} frames_dropped={}",
                stream_id_, c.frames, c.packets_sent, c.packets_lost, c.frames_dropped);
  }
  fanout_.reset();  // joins its thread: nothing is sent to a viewer's socket after this
  std::map<std::string, std::unique_ptr<ViewerPeer>> viewers;
  std::unique_ptr<HlsSegmenter> hls;
  {
    std::lock_guard lock(mu_);
    viewers.swap(viewers_);
    hls.swap(hls_);
  }
  log()->info("broadcast closed stream={} viewers={}", stream_id_, viewers.size());
  hls.reset();
  for (auto& [id, viewer] : viewers) viewer->say_goodbye();
  if (!viewers.empty()) {  // torn down once their goodbyes left
    auto held = std::make_shared<decltype(viewers)>(std::move(viewers));
    loop_.after(ViewerPeer::kGoodbyeMs, [held] { held->clear(); });
  }
  gst_caps_unref(caps_);
}

bool Broadcast::start_hls() {
  if (encoding_name(options_.encoder) != "H264") return false;
  std::weak_ptr<Broadcast> weak = weak_from_this();
  const std::string stream = stream_id_, session = session_id_;
  // On the HLS streaming thread: the link's send only queues, but the link lives on the loop.
  auto output = [weak, &loop = loop_, stream, session](std::string name, std::string bytes,
                                                       std::string playlist) {
    json message = {{"type", "hls_segment"},
                    {"session_id", session},
                    {"stream_id", stream},
                    {"name", std::move(name)},
                    {"data", base64url_encode(bytes)},
                    {"playlist", std::move(playlist)}};
    loop.invoke([weak, m = std::move(message)] {
      if (auto self = weak.lock()) self->callbacks_.to_server(m);
    });
  };
  auto hls = HlsSegmenter::create(caps_, std::move(output));
  if (!hls) {
    log()->warn("no HLS for stream={}: {}", stream_id_, hls.error().to_string());
    return false;
  }
  std::lock_guard lock(mu_);
  hls_ = std::move(*hls);
  return true;
}

void Broadcast::feed(GstBuffer* frame) {
  if (fanout_) fanout_->push(frame);
  std::lock_guard lock(mu_);
  for (auto& [id, viewer] : viewers_) viewer->push(frame);
  if (hls_) hls_->push(frame);
}

void Broadcast::add_viewer(const std::string& viewer_id, const std::string& offer_sdp) {
  std::weak_ptr<Broadcast> weak = weak_from_this();
  ViewerCallbacks callbacks;
  callbacks.answered = [weak, viewer_id](Result<std::string> answer) {
    if (auto self = weak.lock()) self->viewer_answered(viewer_id, std::move(answer));
  };
  callbacks.key_frame_wanted = [weak] {
    if (auto self = weak.lock()) self->request_key_frame();
  };
  callbacks.failed = [weak, viewer_id](const Error& error) {
    auto self = weak.lock();
    if (!self) return;
    // Not from inside the viewer's own call: drop it on the next turn of the loop.
    self->loop_.invoke([weak, viewer_id, error] {
      if (auto s = weak.lock()) s->viewer_failed(viewer_id, error);
    });
  };
  if (fanout_) {
    callbacks.send_directly = [weak, viewer_id](DirectRoute route) {
      auto self = weak.lock();
      if (!self) return false;
      auto added = self->fanout_->add(viewer_id, std::move(route));
      if (!added) log()->warn("viewer={} not sent directly: {}", viewer_id, added.error().detail);
      return added.ok();
    };
  }
  auto viewer =
      ViewerPeer::create(viewer_id, offer_sdp, caps_, options_, ssrc_, std::move(callbacks), loop_);
  if (!viewer) return viewer_answered(viewer_id, viewer.error());
  std::lock_guard lock(mu_);
  viewers_[viewer_id] = std::move(*viewer);
  log()->info("viewer added stream={} viewer={} viewers={}", stream_id_, viewer_id,
              viewers_.size());
}

void Broadcast::viewer_answered(const std::string& viewer_id, Result<std::string> answer) {
  if (answer) {
    callbacks_.to_server({{"type", "viewer_answer"},
                          {"session_id", session_id_},
                          {"stream_id", stream_id_},
                          {"viewer_id", viewer_id},
                          {"sdp", std::move(*answer)}});
    return;
  }
  callbacks_.to_server(viewer_failed_message(session_id_, stream_id_, viewer_id, answer.error()));
  loop_.invoke([weak = weak_from_this(), viewer_id] {
    if (auto self = weak.lock()) self->remove_viewer(viewer_id);
  });
}

void Broadcast::viewer_failed(const std::string& viewer_id, const Error& error) {
  remove_viewer(viewer_id);
  callbacks_.to_server({{"type", "viewer_closed"},
                        {"session_id", session_id_},
                        {"stream_id", stream_id_},
                        {"viewer_id", viewer_id},
                        {"reason", error.detail}});
}

void Broadcast::remove_viewer(const std::string& viewer_id) {
  std::unique_ptr<ViewerPeer> viewer;
  {
    std::lock_guard lock(mu_);
    auto it = viewers_.find(viewer_id);
    if (it == viewers_.end()) return;
    viewer = std::move(it->second);
    viewers_.erase(it);
  }
  if (fanout_) fanout_->remove(viewer_id);  // before its socket can close
  log()->info("viewer removed stream={} viewer={}", stream_id_, viewer_id);
  // Outside the lock, feed() no longer sees it; torn down once its goodbye left.
  viewer->say_goodbye();
  loop_.after(ViewerPeer::kGoodbyeMs, [held = std::shared_ptr<ViewerPeer>(std::move(viewer))] {});
}

void Broadcast::tick() {
  std::vector<ViewerPeer*> viewers;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, v] : viewers_) viewers.push_back(v.get());
  }
  // Viewers are removed only on this thread, so the pointers stay valid here.
  for (auto* v : viewers) v->tick();
}

size_t Broadcast::viewer_count() const {
  std::lock_guard lock(mu_);
  return viewers_.size();
}

void Broadcast::request_key_frame() {
  const auto now = std::chrono::steady_clock::now();
  const auto next = last_key_frame_ + kKeyFrameSpacing;
  if (now >= next) {
    last_key_frame_ = now;
    return callbacks_.key_frame();
  }
  if (key_frame_pending_) return;  // one is scheduled already: it serves this viewer too
  key_frame_pending_ = true;
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
  loop_.after(static_cast<unsigned>(wait.count()) + 1, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    self->key_frame_pending_ = false;
    self->last_key_frame_ = std::chrono::steady_clock::now();
    self->callbacks_.key_frame();
  });
}

}  // namespace ithaca::streamer
