// BroadcastService: the server side of broadcast (docs/streaming.md section 5): spectator
// tokens, WHEP for WebRTC spectators and HLS for everyone else, for streams whose media runs on
// streamers reached through the signaling hub.
//
//   host starts a stream with broadcast: true
//     streamer ──broadcast_open──▶ service: mints the spectator token, lists the stream
//     streamer ◀─broadcast_opened── (webrtc_url, broadcast_url, spectator_token) ─▶ host
//   POST /broadcast/{stream}/whep      token check, cap check ──viewer_offer──▶ streamer
//                                      201 + answer SDP + Location ◀──viewer_answer──
//   DELETE /broadcast/{stream}/whep/{viewer}  only with the token that created it
//   GET  /broadcast/{stream}/hls/{key}/index.m3u8, segmentNNNNN.ts  (key: 128 random bits)
//   streamer ──broadcast_close── or its link drops: every viewer is gone, WHEP answers 404.
//
// A spectator token is a JWT with role `spectator`, its stream id as `sub` and the host's
// session as `sid`: the signaling path refuses it (wrong role) and it is worth nothing once its
// stream ended. Spectators hold no concurrency slot; broadcast.max_spectators caps each stream.
//
// Threads: handle() and the BroadcastLink calls run on network threads and never block; a
// WHEP POST is answered when the streamer's answer arrives, or after answer_timeout by one
// timer thread. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "ithaca/auth/token.hpp"
#include "ithaca/base/clock.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/net/http_server.hpp"
#include "ithaca/signaling/broadcast_link.hpp"

namespace ithaca::broadcast {

struct BroadcastOptions {
  std::string public_url;             // http(s)://host:port of this node, no trailing slash
  std::string audience;               // of spectator tokens (the node's token audience)
  int max_spectators = 100;           // per stream
  seconds spectator_token_ttl{3600};  // the stream's end revokes them sooner
  std::chrono::milliseconds answer_timeout{10'000};
  size_t hls_segments_kept = 8;
};

using SendToStreamer = std::function<bool(const std::string& streamer_id, std::string message)>;

class BroadcastService final : public signaling::BroadcastLink {
 public:
  BroadcastService(BroadcastOptions options, std::shared_ptr<const auth::TokenKeyRing> keys,
                   const Clock& clock, SendToStreamer send, metrics::Registry& metrics);
  ~BroadcastService() override;  // stop()

  static bool is_broadcast_path(std::string_view path);  // under /broadcast/
  // A request under /broadcast/. Never blocks; `respond` may be called later, on any thread.
  void handle(net::HttpRequest request, net::Respond respond);

  // A fresh spectator token for the live broadcast of `session_id` (the caller checked the
  // session is the API caller's): {spectator_token, webrtc_url, broadcast_url?, stream_id,
  // expires_in}. stream_not_found when that session broadcasts nothing now.
  Result<nlohmann::ordered_json> spectator_token_for_session(const std::string& session_id);

  // Answers pending WHEP requests with shutting_down and stops the timer. Idempotent.
  void stop();

  size_t stream_count() const;
  size_t viewer_count(const std::string& stream_id) const;

  // BroadcastLink
  void on_streamer_message(const std::string& streamer_id, const nlohmann::json& message) override;
  void on_streamer_lost(const std::string& streamer_id) override;

 private:
  struct Viewer {
    std::string token_id;  // jti of the token that created it: only it may DELETE
    net::Respond pending;  // until the streamer answers
    std::string token;     // until answered: the Location URL carries it
    std::chrono::steady_clock::time_point deadline;
  };
  struct Segment {
    std::string name;
    std::shared_ptr<const std::string> bytes;
  };
  struct Stream {
    std::string session_id;
    std::string streamer_id;
    std::string hls_key;  // empty: no HLS rendition
    std::map<std::string, Viewer> viewers;
    std::deque<Segment> segments;
    std::shared_ptr<const std::string> playlist;
  };

  void whep_post(const net::HttpRequest& request, const std::string& stream_id,
                 net::Respond respond);
  net::HttpResponse whep_delete(const net::HttpRequest& request, const std::string& stream_id,
                                const std::string& viewer_id);
  net::HttpResponse hls_get(const std::string& stream_id, const std::string& key,
                            const std::string& file);

  // The claims of a valid spectator token for `stream_id`, or spectator_token_invalid.
  Result<auth::TokenClaims> check_token(const net::HttpRequest& request,
                                        const std::string& stream_id) const;
  std::string mint_token(const std::string& session_id, const std::string& stream_id) const;
  std::string webrtc_url(const std::string& stream_id) const;
  std::string hls_url(const std::string& stream_id, const Stream& stream) const;

  void opened(const std::string& streamer_id, const nlohmann::json& m);
  void answered(const nlohmann::json& m, bool ok);
  void viewer_closed(const nlohmann::json& m);
  void segment(const nlohmann::json& m);
  // Unlists the streams `which` selects; their pending WHEP requests get 404, answered outside
  // the lock.
  void close_streams(const std::function<bool(const std::string& id, const Stream& stream)>& which);
  void run_timer();

  const BroadcastOptions options_;
  const std::shared_ptr<const auth::TokenKeyRing> keys_;
  const Clock& clock_;
  const SendToStreamer send_;
  metrics::Counter& viewers_joined_;
  metrics::Counter& viewers_refused_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, Stream> streams_;  // by stream id
  std::thread timer_;
};

}  // namespace ithaca::broadcast
