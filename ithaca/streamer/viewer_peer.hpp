// ViewerPeer: one spectator's media connection to a broadcast (docs/streaming.md section 5).
//
//   host encoder ──encoded frames──▶ appsrc (leaky, 8 frames) ─▶ RTP payloader ─▶ webrtcbin
//
// The spectator is the offerer (WHEP): its recvonly offer arrives through the server, and the
// peer answers once ICE gathering finished, so the answer carries every candidate (WHEP is
// non-trickle). When the connection is up, the media goes one of two ways:
//   - directly (the usual case): the Broadcast's SpectatorFanout takes over the ICE socket and
//     SRTP keys (DirectRoute) and sends the shared packets itself; webrtcbin then only keeps
//     ICE and DTLS alive and receives the spectator's RTCP;
//   - through webrtcbin, when the route cannot be taken over (a TURN relay, ICE over TCP) or
//     the streamer is told to: frames are the host's encoded ones, pushed by the Broadcast
//     (never re-encoded); the appsrc queue drops the oldest when this viewer falls behind, so
//     one slow viewer cannot stall the others.
// Either way the payloader is the same and the RTP stream id (SSRC) is the broadcast's, so the
// answer describes what is sent. When the transport comes up, or the spectator's decoder asks
// (RTCP PLI or FIR), the Broadcast is asked for a key frame.
//
// Threads: create, the destructor and the callbacks on the streamer's MainLoopThread; push()
// from the host's streaming thread.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/streamer/direct_route.hpp"
#include "ithaca/streamer/gst_support.hpp"
#include "ithaca/streamer/webrtc_peer.hpp"

namespace ithaca::streamer {

// The payload type the offer gives the encoding ("H264" or "VP8"), preferring, for H.264,
// packetization-mode=1 with a constrained-baseline profile (what the encoder makes), then any
// packetization-mode=1 baseline. nullopt when the offer's video cannot receive it.
std::optional<int> choose_payload_type(const std::string& offer_sdp, const std::string& encoding);

// Whether an RTCP compound packet (decrypted) asks for a key frame: a PLI or a FIR.
bool rtcp_asks_for_key_frame(GstBuffer* rtcp);

// Spectators are view-only (docs/odyssey-compatibility.md section 9): an offer's data channel
// section is rejected in the answer (port 0, out of the BUNDLE group), so no channel opens.
std::string reject_data_channels(const std::string& answer_sdp);

struct ViewerCallbacks {
  // Once: the answer SDP, or why there is none.
  std::function<void(Result<std::string>)> answered;
  // The viewer needs a key frame: its transport came up, or its decoder asked (RTCP PLI/FIR).
  std::function<void()> key_frame_wanted;
  // The connection failed or went silent after it was answered.
  std::function<void(const Error&)> failed;
  // The connection is up (or ICE moved it to another pair) and its route can be taken over:
  // true when the fan-out now sends to it. Unset: always through webrtcbin.
  std::function<bool(DirectRoute)> send_directly;
};

class ViewerPeer {
 public:
  // invalid_request when the offer does not parse or cannot receive the encoding. `ssrc`: the
  // broadcast's RTP stream id.
  static Result<std::unique_ptr<ViewerPeer>> create(
      std::string viewer_id, const std::string& offer_sdp, GstCaps* encoded_caps,
      const PeerOptions& options, uint32_t ssrc, ViewerCallbacks callbacks, MainLoopThread& loop);
  ~ViewerPeer();
  ViewerPeer(const ViewerPeer&) = delete;
  ViewerPeer& operator=(const ViewerPeer&) = delete;

  // An encoded frame of the host (a reference is taken), for webrtcbin's send path; ignored
  // while the media goes directly. Any thread.
  void push(GstBuffer* frame);
  // Fails a viewer whose receiver reports stopped (called about once a second).
  void tick();
  // Tells the spectator's side the media is over: an end-of-stream into the DTLS encoder makes
  // it send close_notify, and IceFarewell answers its ICE checks with errors from then on, so
  // browsers see the connection fail within ~3 s (instead of an ICE consent timeout of ~18 s).
  // Destroy the peer kGoodbyeMs later, so the alert leaves first.
  void say_goodbye();
  static constexpr unsigned kGoodbyeMs = 300;
  const std::string& id() const;

 private:
  struct Impl;
  explicit ViewerPeer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ithaca::streamer
