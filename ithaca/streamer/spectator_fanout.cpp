#include "ithaca/streamer/spectator_fanout.hpp"

#include <netinet/udp.h>
#include <pthread.h>
#include <sys/socket.h>

#include <array>
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
// Datagrams in one segmented send: the kernel takes at most 64, and 64 KiB in all.
constexpr size_t kMaxSegments = 48;

}  // namespace

SpectatorFanout::SpectatorFanout(std::unique_ptr<RtpPacketizer> packetizer,
                                 std::function<void()> key_frame_wanted)
    : packetizer_(std::move(packetizer)), key_frame_wanted_(std::move(key_frame_wanted)) {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "ithaca-fanout");  // for top -H and perf
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
  // Each packet copied into its own slot, given the viewer's payload type, and encrypted.
  if (scratch_.size() < packets.size() * kSlot) scratch_.resize(packets.size() * kSlot);
  const auto pt = static_cast<uint8_t>(viewer.route.payload_type & 0x7f);
  std::vector<iovec> datagrams;
  datagrams.reserve(packets.size());
  for (const Packet& packet : packets) {
    if (packet.size + SrtpProtector::kMaxTagBytes > kSlot || packet.size < 12) continue;
    uint8_t* slot = scratch_.data() + datagrams.size() * kSlot;
    std::memcpy(slot, packet.data, packet.size);
    slot[1] = static_cast<uint8_t>((slot[1] & 0x80) | pt);  // keep the marker bit
    const size_t size = viewer.srtp->protect(slot, packet.size);
    if (size > 0) datagrams.push_back({slot, size});
  }
  auto [sent, gso_refused] = send_datagrams(viewer_id, viewer, datagrams, 0);
  if (gso_refused) {
    // This route cannot segment (an interface without UDP checksum offload): one by one.
    log()->info("viewer={}: no UDP segmentation offload, sending datagrams one by one", viewer_id);
    viewer.gso = false;
    sent = send_datagrams(viewer_id, viewer, datagrams, sent).sent;
  }
  packets_sent_ += sent;
  packets_lost_ += packets.size() - sent;
  return sent == packets.size();
}

SpectatorFanout::SendResult SpectatorFanout::send_datagrams(const std::string& viewer_id,
                                                            Viewer& viewer,
                                                            std::vector<iovec>& datagrams,
                                                            size_t first) {
  // Messages for sendmmsg: with UDP segmentation offload, each carries a run of datagrams of
  // one size (the last may be shorter, as the payloader's last fragment of a frame is), and the
  // kernel cuts it apart as late as it can: the IP and UDP work is done once per run.
  std::vector<mmsghdr> messages;
  std::vector<size_t> counts;  // datagrams in each message
  std::vector<std::array<char, CMSG_SPACE(sizeof(uint16_t))>> controls(datagrams.size());
  for (size_t i = first; i < datagrams.size();) {
    size_t n = 1;
    const size_t size = datagrams[i].iov_len;
    if (viewer.gso) {
      while (i + n < datagrams.size() && n < kMaxSegments && datagrams[i + n].iov_len == size) {
        ++n;
      }
      if (i + n < datagrams.size() && n < kMaxSegments && datagrams[i + n].iov_len < size) ++n;
    }
    mmsghdr m{};
    m.msg_hdr.msg_name = &viewer.route.remote;
    m.msg_hdr.msg_namelen = viewer.route.remote_size;
    m.msg_hdr.msg_iov = &datagrams[i];
    m.msg_hdr.msg_iovlen = n;
    if (n > 1) {
      auto& control = controls[messages.size()];
      m.msg_hdr.msg_control = control.data();
      m.msg_hdr.msg_controllen = control.size();
      cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto segment = static_cast<uint16_t>(size);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
    messages.push_back(m);
    counts.push_back(n);
    i += n;
  }

  const int fd = g_socket_get_fd(viewer.route.socket.get());
  size_t done = 0, sent = first;
  bool gso_refused = false;
  while (done < messages.size()) {
    const int n = sendmmsg(fd, messages.data() + done,
                           static_cast<unsigned>(messages.size() - done), MSG_DONTWAIT);
    if (n > 0) {
      for (int k = 0; k < n; ++k) sent += counts[done + k];
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN (its socket buffer is full) or an error: the rest is lost.
    if (n < 0 && viewer.gso && counts[done] > 1 && (errno == EIO || errno == EINVAL)) {
      gso_refused = true;  // the caller retries without segmentation
    } else if (n < 0 && errno != EAGAIN && !std::exchange(viewer.send_error_logged, true)) {
      log()->warn("sending to viewer={} failed: {}", viewer_id, std::strerror(errno));
    }
    break;
  }
  return {sent, gso_refused};
}

}  // namespace ithaca::streamer
