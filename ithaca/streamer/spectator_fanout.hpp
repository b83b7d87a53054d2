// SpectatorFanout: sends a broadcast's video to every spectator whose route it took over
// (docs/streaming.md section 5.1).
//
//   encoded frame ─▶ queue (8 frames) ─▶ fan-out thread: packetize once ─┬─▶ SRTP ─▶ sendmmsg
//                                                                       ├─▶ SRTP ─▶ sendmmsg
//                                                                       └─▶ ...
//
// One thread serves every spectator of the broadcast: each frame is packetized once, then for
// each spectator the packets are copied, given its payload type, encrypted with its SRTP keys
// and sent with one sendmmsg on its ICE socket, runs of equal-sized packets as one segmented
// (UDP GSO) datagram. Non-blocking: a spectator whose socket buffer is full loses the rest of
// that frame, like a lossy network, and restarts at a key frame, so nobody else waits for it. A
// spectator starts at a key frame (its ViewerPeer asks for one when the connection comes up).
// Where the queue overflows (this thread starved of CPU) the oldest frame is dropped and
// everyone restarts at a key frame, since the frames after it would not decode.
#pragma once

#include <gst/gst.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ithaca/streamer/direct_route.hpp"
#include "ithaca/streamer/rtp_packetizer.hpp"
#include "ithaca/streamer/srtp_protector.hpp"

namespace ithaca::streamer {

class SpectatorFanout {
 public:
  static constexpr size_t kMaxQueuedFrames = 8;

  // `key_frame_wanted` is called on the fan-out thread.
  SpectatorFanout(std::unique_ptr<RtpPacketizer> packetizer,
                  std::function<void()> key_frame_wanted);
  ~SpectatorFanout();  // stops and joins the thread
  SpectatorFanout(const SpectatorFanout&) = delete;
  SpectatorFanout& operator=(const SpectatorFanout&) = delete;

  // An encoded frame of the host (a reference is taken). Any thread; never blocks on sending.
  void push(GstBuffer* frame);

  // Starts sending to `viewer_id` from the next key frame. Adding a viewer it has already
  // moves it to the new route (ICE selected another pair) and keeps its SRTP state.
  // invalid_request when the route's keys are unusable.
  Status add(const std::string& viewer_id, DirectRoute route);
  // Once this returns, nothing more is sent to the viewer (its socket may close).
  void remove(const std::string& viewer_id);
  bool has(const std::string& viewer_id) const;

  struct Counters {
    uint64_t frames = 0;          // frames packetized
    uint64_t packets_sent = 0;    // SRTP packets the kernel took, over all viewers
    uint64_t packets_lost = 0;    // not sent: a full socket buffer or a send error
    uint64_t frames_dropped = 0;  // queue overflow
  };
  Counters counters() const;

 private:
  struct Viewer {
    DirectRoute route;
    std::unique_ptr<SrtpProtector> srtp;
    bool started = false;  // false until a key frame: the decoder cannot start elsewhere
    bool send_error_logged = false;
    bool gso = true;  // UDP segmentation offload, until the route refuses it
  };
  struct Packet {
    const uint8_t* data;
    size_t size;
  };

  void run();
  void send_frame(GstBuffer* frame);
  // Sends the frame's packets to one viewer; false when some did not go.
  bool send_to(const std::string& viewer_id, Viewer& viewer, const std::vector<Packet>& packets);
  struct SendResult {
    size_t sent;       // datagrams that went, counting those before `first`
    bool gso_refused;  // a segmented message was refused: retry the rest one by one
  };
  // Sends datagrams[first..].
  SendResult send_datagrams(const std::string& viewer_id, Viewer& viewer,
                            std::vector<iovec>& datagrams, size_t first);

  std::unique_ptr<RtpPacketizer> packetizer_;
  std::function<void()> key_frame_wanted_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<GstBuffer*> queue_;
  bool resync_ = false;  // a frame was dropped: everyone waits for a key frame
  bool stopping_ = false;

  // Held while a frame goes out, so remove() waits for it.
  mutable std::mutex viewers_mu_;
  std::map<std::string, Viewer> viewers_;

  std::atomic<uint64_t> frames_{0}, packets_sent_{0}, packets_lost_{0}, frames_dropped_{0};
  std::vector<uint8_t> scratch_;  // the fan-out thread's: one viewer's packets of a frame
  std::thread thread_;
};

}  // namespace ithaca::streamer
