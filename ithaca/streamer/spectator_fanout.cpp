#include "ithaca/streamer/spectator_fanout.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "ithaca/base/log.hpp"

namespace ithaca::streamer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("fanout");
  return l;
}

// Room for one SRTP packet: payloaders make at most 1200 bytes (encoder.cpp), plus the tag.
constexpr size_t kSlot = 1500;
// sendmmsg takes at most UIO_MAXIOV (1024) messages; a key frame at 2.5 Mbit/s is ~80.
constexpr size_t kBatch = 256;

}  // namespace

SpectatorFanout::SpectatorFanout(std::unique_ptr<RtpPacketizer> packetizer,
                                 std::function<void()> key_frame_wanted)
    : packetizer_(std::move(packetizer)), key_frame_wanted_(std::move(key_frame_wanted)) {
  thread_ = std::thread([this] { run(); });
}

SpectatorFanout::~SpectatorFanout() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_one();
  thread_.join();
  for (GstBuffer* frame : queue_) gst_buffer_unref(frame);
}

void SpectatorFanout::push(GstBuffer* frame) {
  {
    std::lock_guard lock(queue_mu_);
    if (queue_.size() >= kMaxQueuedFrames) {
      gst_buffer_unref(queue_.front());
      queue_.pop_front();
      resync_ = true;
      ++frames_dropped_;
    }
    queue_.push_back(gst_buffer_ref(frame));
  }
  queue_cv_.notify_one();
}

Status SpectatorFanout::add(const std::string& viewer_id, DirectRoute route) {
  std::lock_guard lock(viewers_mu_);
  if (auto it = viewers_.find(viewer_id); it != viewers_.end()) {
    log()->info("viewer route moved viewer={} route={}", viewer_id, route.description);
    it->second.route = std::move(route);  // same DTLS session, same keys: SRTP state stays
    return ok_status();
  }
  auto srtp = SrtpProtector::create(route.srtp_master, route.profile);
  if (!srtp) return srtp.error();
  log()->info("viewer sent directly viewer={} route={}", viewer_id, route.description);
  viewers_[viewer_id] = Viewer{std::move(route), std::move(*srtp), false};
  return ok_status();
}

void SpectatorFanout::remove(const std::string& viewer_id) {
  std::lock_guard lock(viewers_mu_);
  viewers_.erase(viewer_id);
}

bool SpectatorFanout::has(const std::string& viewer_id) const {
  std::lock_guard lock(viewers_mu_);
  return viewers_.count(viewer_id) > 0;
}

SpectatorFanout::Counters SpectatorFanout::counters() const {
  return {frames_.load(), packets_sent_.load(), packets_lost_.load(), frames_dropped_.load()};
}

void SpectatorFanout::run() {
  for (;;) {
    GstBuffer* frame = nullptr;
    bool resync = false;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      frame = queue_.front();
      queue_.pop_front();
      resync = std::exchange(resync_, false);
    }
    if (resync) {
      std::lock_guard lock(viewers_mu_);
      for (auto& [id, viewer] : viewers_) viewer.started = false;
    }
    send_frame(frame);
    gst_buffer_unref(frame);
    if (resync) key_frame_wanted_();
  }
}

void SpectatorFanout::send_frame(GstBuffer* frame) {
  {
    std::lock_guard lock(viewers_mu_);
    if (viewers_.empty()) return;  // nobody to packetize for
  }
  std::vector<GstBufferPtr> rtp = packetizer_->packetize(frame);
  ++frames_;
  const bool key_frame = !GST_BUFFER_FLAG_IS_SET(frame, GST_BUFFER_FLAG_DELTA_UNIT);

  std::vector<GstMapInfo> maps(rtp.size());
  std::vector<Packet> packets;
  packets.reserve(rtp.size());
  for (size_t i = 0; i < rtp.size(); ++i) {
    if (!gst_buffer_map(rtp[i].get(), &maps[i], GST_MAP_READ)) {
      maps.resize(i);
      break;
    }
    packets.push_back({maps[i].data, maps[i].size});
  }

  bool want_key_frame = false;
  {
    std::lock_guard lock(viewers_mu_);
    for (auto& [id, viewer] : viewers_) {
      if (!viewer.started) {
        if (!key_frame) continue;
        viewer.started = true;
      }
      if (!send_to(id, viewer, packets)) {
        viewer.started = false;  // its decoder lost this frame: start again at a key frame
        want_key_frame = true;
      }
    }
  }
  for (size_t i = 0; i < maps.size(); ++i) gst_buffer_unmap(rtp[i].get(), &maps[i]);
  if (want_key_frame) key_frame_wanted_();
}

bool SpectatorFanout::send_to(const std::string& viewer_id, Viewer& viewer,
                              const std::vector<Packet>& packets) {
  const int fd = g_socket_get_fd(viewer.route.socket.get());
  const auto pt = static_cast<uint8_t>(viewer.route.payload_type & 0x7f);
  bool all_sent = true;
  for (size_t first = 0; first < packets.size(); first += kBatch) {
    const size_t count = std::min(kBatch, packets.size() - first);
    if (scratch_.size() < count * kSlot) scratch_.resize(count * kSlot);
    mmsghdr messages[kBatch];
    iovec parts[kBatch];
    size_t ready = 0;
    for (size_t i = 0; i < count; ++i) {
      const Packet& packet = packets[first + i];
      if (packet.size + SrtpProtector::kMaxTagBytes > kSlot || packet.size < 12) continue;
      uint8_t* slot = scratch_.data() + ready * kSlot;
      std::memcpy(slot, packet.data, packet.size);
      slot[1] = static_cast<uint8_t>((slot[1] & 0x80) | pt);  // keep the marker bit
      const size_t size = viewer.srtp->protect(slot, packet.size);
      if (size == 0) continue;
      parts[ready] = {slot, size};
      messages[ready] = {};
      messages[ready].msg_hdr.msg_name = &viewer.route.remote;
      messages[ready].msg_hdr.msg_namelen = viewer.route.remote_size;
      messages[ready].msg_hdr.msg_iov = &parts[ready];
      messages[ready].msg_hdr.msg_iovlen = 1;
      ++ready;
    }
    size_t sent = 0;
    while (sent < ready) {
      const int n =
          sendmmsg(fd, messages + sent, static_cast<unsigned>(ready - sent), MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN (its socket buffer is full) or an error: the rest is lost.
      if (n < 0 && errno != EAGAIN && !std::exchange(viewer.send_error_logged, true)) {
        log()->warn("sending to viewer={} failed: {}", viewer_id, std::strerror(errno));
      }
      break;
    }
    packets_sent_ += sent;
    if (sent < count) {
      packets_lost_ += count - sent;
      all_sent = false;
    }
  }
  return all_sent;
}

}  // namespace ithaca::streamer
