// SignalingHub: the server side of signaling (docs/streaming.md sections 1 and 2).
//
// - handle_http(): GET /signaling/config (ICE servers) and CORS preflights, for paths under
//   /signaling/ that are not WebSocket upgrades.
// - accept(): the net::WebSocketAcceptor for /signaling/client/{session_id} (a browser holding
//   client credentials) and /signaling/streamer (an `ithaca streamer` presenting the streamer
//   secret). It decides on the path and the secret only, on the network thread; a client's token
//   is checked after the upgrade, on the hub's workers, so that a refusal reaches the client as
//   an `error` message with its reason.
// - It relays signaling messages between each connected client and the streamer its session was
//   placed on, reports the client's connection to the session lifecycle (ConnectionEvents),
//   keeps streamers in the registry while their links are up, and is a SessionEndListener: a
//   session that ends while its client is connected (operator DELETE, streamer lost, duration
//   cap, sweeper) closes that client with the reason and tells the streamer.
//
// Threads: network threads run the acceptor and every connection callback and never wait; the
// hub's workers (a small pool) run whatever touches the store (verify and connect, disconnects,
// registering a streamer, ending a lost streamer's sessions); one timer thread applies
// signaling.max_connection_seconds when it is set. Thread-safe.
//
// Lifetime: stop() before the HttpServer stops (see Server::stop). Connections that report
// after stop() are ignored, so the store and the session service may go away after it. The
// session service keeps the hub as an end listener (it has no way to remove one): destroy the
// hub only when nothing will end sessions any more, or together with the service.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ithaca/auth/token.hpp"
#include "ithaca/base/clock.hpp"
#include "ithaca/config/config.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/net/http.hpp"
#include "ithaca/net/websocket.hpp"
#include "ithaca/session/failure_throttle.hpp"
#include "ithaca/session/session_service.hpp"
#include "ithaca/session/store.hpp"
#include "ithaca/session/streamer_registry.hpp"
#include "ithaca/signaling/broadcast_link.hpp"
#include "ithaca/signaling/cors.hpp"

namespace ithaca::signaling {

struct SignalingOptions {
  std::vector<std::string> ice_servers;  // stun:/turn: URLs
  std::string turn_username;
  std::string turn_credential;
  std::vector<std::string> cors_origins;
  bool dev = false;                        // any origin may fetch /config
  std::chrono::seconds max_connection{0};  // 0: no cap on a client's connection
  int64_t max_stream_seconds = 0;          // told to streamers in `registered`
  int64_t idle_timeout_seconds = 0;        // told to streamers in `registered`; 0: off
  std::string streamer_secret;             // what a streamer's Authorization: Bearer must be
  // Wrong streamer secrets per client address and window (session::FailureThrottle): past the
  // limit the address is refused RATE_LIMITED (429, Retry-After) unchecked. 0: no limit.
  int64_t max_failures_per_address = 0;
  std::chrono::seconds failure_window{60};
  int worker_threads = 2;
  // How often the duration cap is checked (only when max_connection is set).
  std::chrono::milliseconds tick{250};
  // stop() waits this long for connections to finish their closing handshakes.
  std::chrono::milliseconds shutdown_grace{1000};
};

// The options from a node's config; the secret is resolved by the caller
// (config::load_streamer_secret).
SignalingOptions signaling_options(const config::Config& config, std::string streamer_secret);

struct SignalingDeps {
  session::SessionService& sessions;
  session::StreamerRegistry& registry;
  session::Store& store;  // to count a registering streamer's live sessions
  std::shared_ptr<const auth::TokenKeyRing> keys;
  const Clock& clock;
  metrics::Registry& metrics;
};

namespace internal {
class Core;
}

class SignalingHub {
 public:
  // Registers itself with deps.sessions as an end listener.
  SignalingHub(SignalingOptions options, SignalingDeps deps);
  ~SignalingHub();  // stop()
  SignalingHub(const SignalingHub&) = delete;
  SignalingHub& operator=(const SignalingHub&) = delete;

  // A request under /signaling/ that is not a WebSocket upgrade. Never blocks.
  net::HttpResponse handle_http(const net::HttpRequest& request) const;
  // The WebSocket acceptor (HttpServerOptions::websocket_acceptor calls it). Never blocks.
  net::WebSocketDecision accept(const net::HttpRequest& request);

  // Closes every client (error shutting_down, close 1001) and streamer link, waits up to
  // shutdown_grace for them to finish, and runs the work already queued. Clients closed here
  // are unclean drops (resumable); the sessions of streamers closed here are left to the next
  // start. Idempotent.
  void stop();

  // Where broadcast messages go (none: broadcast_open is refused). Set before start; the link
  // must outlive the hub's stop().
  void set_broadcast_link(BroadcastLink* link);
  // Queues a message to a registered streamer; false when it is not connected here.
  bool send_to_streamer(const std::string& streamer_id, std::string message);

  const CorsPolicy& cors() const;
  // Clients past verification, and streamers registered.
  size_t client_count() const;
  size_t streamer_count() const;
  bool streamer_connected(const std::string& streamer_id) const;
  // A session ended on another node (cluster::SessionEndRelay): closes its client here, if any,
  // as for an end on this node.
  void session_ended_elsewhere(const session::SessionRecord& session);

 private:
  std::shared_ptr<internal::Core> core_;
  // Wrong streamer secrets, by client address; its warnings are sampled (one a minute each).
  std::unique_ptr<session::FailureThrottle> streamer_failures_;
};

}  // namespace ithaca::signaling
