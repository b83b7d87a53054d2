// Broadcast: one host stream shared with view-only spectators, encoded once
// (docs/streaming.md section 5).
//
//                                        ┌─▶ host's payloader ─▶ host webrtcbin
//   frames ─▶ encoder ─▶ "encoded" ──────┼─▶ SpectatorFanout ─▶ SRTP ─▶ each direct viewer's socket
//                        (pad probe)     ├─▶ ViewerPeer (leaky queue, payloader, webrtcbin), for
//                                        │   viewers the fan-out cannot send to (TURN, TCP)
//                                        └─▶ HlsSegmenter (H.264 only)
//
// The host's encoder output is tapped by a pad probe: each encoded frame is handed, by
// reference, to the fan-out, to viewers sent through webrtcbin, and to the HLS segmenter.
// Nothing is re-encoded, and the fan-out packetizes once for all its viewers, so a spectator
// costs only encrypting and sending. Every viewer's RTP stream has the broadcast's SSRC, whichever
// way its media goes. A viewer whose transport comes up needs a key
// frame (the stream's next one may be 2 s away); those requests are throttled to one per 500 ms
// so a crowd joining at once does not turn the stream into key frames.
//
// The server is told through `to_server` (docs/streaming.md section 2): viewer_answer,
// viewer_failed, viewer_closed, hls_segment.
//
// Threads: everything but feed() on the streamer's MainLoopThread; feed() on the host's
// streaming thread.
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "ithaca/streamer/gst_support.hpp"
#include "ithaca/streamer/hls_segmenter.hpp"
#include "ithaca/streamer/spectator_fanout.hpp"
#include "ithaca/streamer/viewer_peer.hpp"
#include "ithaca/streamer/webrtc_peer.hpp"

namespace ithaca::streamer {

struct BroadcastCallbacks {
  std::function<void(const nlohmann::json&)> to_server;  // a link message
  std::function<void()> key_frame;                       // ask the host's encoder for one
};

// viewer_failed, the link message refusing a spectator's offer: `error`'s catalog name and
// detail, for the server to answer the WHEP POST with.
nlohmann::json viewer_failed_message(const std::string& session_id, const std::string& stream_id,
                                     const std::string& viewer_id, const Error& error);

class Broadcast : public std::enable_shared_from_this<Broadcast> {
 public:
  static constexpr auto kKeyFrameSpacing = std::chrono::milliseconds(500);

  // `encoded_caps`: the caps of the host encoder's output (a reference is taken). HLS is made
  // for H.264 only (MPEG-TS does not carry VP8).
  Broadcast(std::string session_id, std::string stream_id, GstCaps* encoded_caps,
            PeerOptions options, BroadcastCallbacks callbacks, MainLoopThread& loop);
  ~Broadcast();  // closes every viewer
  Broadcast(const Broadcast&) = delete;
  Broadcast& operator=(const Broadcast&) = delete;

  // Starts the HLS rendition (when the encoding allows); false when it has none.
  bool start_hls();
  // An encoded frame of the host. Any thread.
  void feed(GstBuffer* frame);

  // A spectator's WHEP offer; answers with viewer_answer or viewer_failed.
  void add_viewer(const std::string& viewer_id, const std::string& offer_sdp);
  void remove_viewer(const std::string& viewer_id);
  void tick();  // about once a second

  const std::string& stream_id() const { return stream_id_; }
  const std::string& session_id() const { return session_id_; }
  size_t viewer_count() const;

 private:
  void viewer_answered(const std::string& viewer_id, Result<std::string> answer);
  void viewer_failed(const std::string& viewer_id, const Error& error);
  void request_key_frame();

  const std::string session_id_;
  const std::string stream_id_;
  GstCaps* caps_;
  const PeerOptions options_;
  BroadcastCallbacks callbacks_;
  MainLoopThread& loop_;

  // Guards the sinks against feed(): a viewer is never destroyed while a frame is pushed to it.
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ViewerPeer>> viewers_;
  std::unique_ptr<HlsSegmenter> hls_;
  const uint32_t ssrc_;                      // every viewer's RTP stream id
  std::unique_ptr<SpectatorFanout> fanout_;  // null when the streamer sends through webrtcbin

  std::chrono::steady_clock::time_point last_key_frame_{};
  bool key_frame_pending_ = false;
};

}  // namespace ithaca::streamer
