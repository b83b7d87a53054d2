// WebRtcPeer: one client's media connection, built on GStreamer's webrtcbin.
//
//   frame thread ──I420──▶ appsrc ─▶ encoder ─▶ RTP payloader ─▶ webrtcbin ──▶ client
//                                                        data channels ◀──▶ StreamController
//
// The streamer is the offerer (docs/odyssey-compatibility.md section 6): the peer creates the
// send-only video transceiver and the two data channels (clientToStreamer, streamerToClient), and
// sends its offer once caps reached webrtcbin, so the SDP carries the codec parameters
// (docs/streaming.md, WebRTC fact 3). ICE trickles both ways. When the connection comes up the
// encoder is asked for a key frame (WebRTC fact 4). Commands arriving on clientToStreamer, or
// relayed from signaling (interactive_stream_start with a large image), go to the StreamController;
// its events go out on streamerToClient, queued until that channel is open. A stream started with
// `broadcast: true` is shared with spectators through a Broadcast tapping the encoder's output; it
// closes when the stream ends.
//
// Threads: every method, and both callbacks, run on the streamer's MainLoopThread; webrtcbin's
// signals arrive on GStreamer threads and are posted there. The frame thread renders at the
// source's frame rate and only touches the controller and appsrc, both thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/streamer/dtls_certificate.hpp"
#include "ithaca/streamer/encoder.hpp"
#include "ithaca/streamer/gst_support.hpp"
#include "ithaca/streamer/stream_controller.hpp"

namespace ithaca::streamer {

struct PeerOptions {
  EncoderSettings encoder;
  std::string stun_server;  // "stun://host:port" for webrtcbin; empty: host candidates only
  std::string turn_server;  // "turn://user:pass@host:port"
  // The certificate every DTLS transport presents, from the streamer's DtlsIdentity; null:
  // GStreamer's own RSA-2048 one, which ECDSA-only stacks such as aiortc refuse.
  std::shared_ptr<const DtlsCertificate> dtls_certificate;
  // Spectators' media: sent directly by the broadcast's fan-out wherever the route allows (the
  // cheap way), or always through each spectator's webrtcbin (to compare, or to rule the fan-out
  // out).
  bool spectators_direct = true;
};

struct PeerCallbacks {
  // A signaling message for the client (offer, ice_candidate).
  std::function<void(const nlohmann::json&)> to_client;
  // A link message for the server about this session's broadcast (docs/streaming.md
  // section 2): broadcast_open, broadcast_close, viewer_*, hls_segment.
  std::function<void(const nlohmann::json&)> to_server;
  // The media connection failed or could not be built; the peer is useless afterwards.
  std::function<void(const Error&)> failed;
};

class WebRtcPeer {
 public:
  // Builds the pipeline and starts it; the offer follows asynchronously through to_client.
  static Result<std::unique_ptr<WebRtcPeer>> create(std::string session_id, PeerOptions options,
                                                    std::unique_ptr<StreamController> controller,
                                                    PeerCallbacks callbacks, MainLoopThread& loop);
  // A peer made before its client arrives: the pipeline is built and runs, one frame is encoded
  // (so the caps that the offer needs reach webrtcbin), then the frame thread waits. start()
  // binds it to a session and sends the offer at once: a connect then skips the pipeline's
  // set-up and first encode. An idle prepared peer encodes nothing.
  static Result<std::unique_ptr<WebRtcPeer>> prepare(PeerOptions options,
                                                     std::unique_ptr<StreamController> controller,
                                                     MainLoopThread& loop);
  void start(std::string session_id, PeerCallbacks callbacks);  // once, on a prepared peer
  // False once it failed (a prepared peer that failed is not to be started).
  bool usable() const;
  ~WebRtcPeer();  // stops the frame thread and the pipeline
  WebRtcPeer(const WebRtcPeer&) = delete;
  WebRtcPeer& operator=(const WebRtcPeer&) = delete;

  // A message the client sent through signaling: answer, ice_candidate, or a command
  // (interactive_stream_start). Anything else is answered with an invalid_command error event.
  void handle_client_message(const nlohmann::json& message);
  // A link message from the server for this session's broadcast: broadcast_opened,
  // broadcast_refused, viewer_offer, viewer_close.
  void handle_server_message(const nlohmann::json& message);
  // Applies the stream duration cap (called about once a second).
  void tick();
  // Since when its client has run no stream; nullopt while one runs.
  std::optional<TimePoint> idle_since() const;
  const std::string& session_id() const;

 private:
  struct Impl;
  explicit WebRtcPeer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ithaca::streamer
