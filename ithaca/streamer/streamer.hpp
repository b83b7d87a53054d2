// Streamer: the process side of `ithaca streamer` (and of the in-process streamer of --dev). It
// keeps one WebSocket link to an Ithaca server (docs/streaming.md section 2): registers its
// capacity and capabilities, and for every session_open builds a WebRtcPeer for that client,
// relaying signaling through the link. Losing the link tears every peer down (the server ends
// those sessions) and reconnects with backoff, 0.5 s doubling to 10 s.
//
// Threads: peers and link messages are handled on one MainLoopThread; the link's network thread
// only posts there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/model/model_pool.hpp"
#include "ithaca/streamer/stream_controller.hpp"
#include "ithaca/streamer/webrtc_peer.hpp"

namespace ithaca::streamer {

struct StreamerOptions {
  std::string server_url;  // ws://host:port of the server (the /signaling/streamer path is added)
  std::string secret;      // the server's streaming.streamer_secret
  std::string streamer_id;
  int capacity = 4;
  PeerOptions peer;  // its dtls_pem is set by the streamer (a DtlsIdentity) for each peer
  // The streamer's ECDSA DTLS certificate is made at start-up and made anew after half of this.
  std::chrono::seconds dtls_certificate_lifetime = std::chrono::hours(24 * 30);
  SourceFactory source_factory;  // the world model; defaults to media::ProceduralWorld
  // A model served by worker processes (docs/model-workers.md) instead of source_factory;
  // capacity is then its ready places.
  std::optional<model::PoolOptions> model;
};

class Streamer {
 public:
  // Checks GStreamer (every element present) and makes the DTLS certificate.
  static Result<std::unique_ptr<Streamer>> create(StreamerOptions options);
  ~Streamer();  // stops: tears every peer down and closes the link
  Streamer(const Streamer&) = delete;
  Streamer& operator=(const Streamer&) = delete;

  // Connects (and keeps reconnecting) in the background.
  void start();
  // Peers running now, and whether the server accepted the registration (for tests and logs).
  int peer_count() const;
  // Whether a peer is prepared for the next client (WebRtcPeer::prepare), for tests.
  bool peer_prepared() const;
  bool registered() const;
  // The places the streamer offers now (capacity, or its model's ready places).
  int places() const;
  // The model pool when it serves a model (for tests: worker pids), else null.
  const model::ModelPool* models() const;
  // Blocks until registered() or the timeout; true when registered.
  bool wait_registered(std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  explicit Streamer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ithaca::streamer
