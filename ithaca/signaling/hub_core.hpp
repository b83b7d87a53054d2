// Internal to ithaca/signaling: the state SignalingHub shares with its connections.
//
// Core holds the maps (connected clients by session, streamers by id), the worker pool and the
// duration-cap timer; ClientEndpoint and StreamerEndpoint are the WebSocketHandlers of the two
// kinds of connection. Each endpoint holds the Core (shared_ptr), the Core holds endpoints only
// while they are open or listed, and stop() clears what is left.
//
// Locking: Core::mu_ and each endpoint's mu_ guard plain state. Locks are taken in one order,
// Core::mu_, then a ClientEndpoint's, then a StreamerEndpoint's, never the other way round.
// Nothing calls the session service, the store or the registry while holding any of them; a
// socket is called under a lock only where order demands it (session_open, see send_open), and
// a socket call only queues.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ithaca/base/log.hpp"
#include "ithaca/base/thread_pool.hpp"
#include "ithaca/signaling/cors.hpp"
#include "ithaca/signaling/messages.hpp"
#include "ithaca/signaling/signaling_hub.hpp"

namespace ithaca::signaling::internal {

class ClientEndpoint;
class StreamerEndpoint;

struct HubMetrics {
  explicit HubMetrics(metrics::Registry& registry);
  metrics::Family<metrics::Counter>& refusals;  // connects refused, by reason
  metrics::Family<metrics::Counter>& relayed;   // messages relayed, by direction
  metrics::Family<metrics::Counter>& closes;    // client connections ended, by how
  metrics::Counter& invalid;                    // client messages answered invalid_command
};

std::shared_ptr<spdlog::logger> log();

// The reason a client is told when its session ends while it is connected.
ErrorCode reason_for(session::EndCause cause);

class Core final : public session::SessionEndListener, public std::enable_shared_from_this<Core> {
 public:
  Core(SignalingOptions options, SignalingDeps deps);
  ~Core() override;

  void start();  // the timer thread, when a duration cap is set
  void stop();
  bool stopping() const;

  // Runs `task` on a worker; false (and the task dropped) once the hub stopped.
  bool post(std::function<void()> task);

  // Every accepted connection, until its on_close: what stop() closes and waits for.
  void track(std::shared_ptr<ClientEndpoint> client);
  void track(std::shared_ptr<StreamerEndpoint> streamer);
  void untrack(const ClientEndpoint* client);
  void untrack(const StreamerEndpoint* streamer);

  // ---- clients ----
  void begin_verifying(const std::string& session_id);
  // Verification passed (the session is now `connected`): makes the client the session's
  // connected client, unless one of the outcomes below says otherwise.
  enum class Outcome {
    active,       // listed; `streamer` is where the session runs
    no_streamer,  // its streamer is not connected here
    ended,        // the session ended while we verified (`cause`)
    gone,         // the client closed meanwhile, or the hub is stopping
  };
  struct Activation {
    Outcome outcome = Outcome::gone;
    session::EndCause cause = session::EndCause::none;
    std::shared_ptr<StreamerEndpoint> streamer;
  };
  Activation activate(const std::shared_ptr<ClientEndpoint>& client,
                      const session::SessionRecord& session);
  // Verification failed: undoes begin_verifying.
  void end_verifying(const std::string& session_id);
  // Unlists the session's client if it is `client`.
  void remove_client(const std::string& session_id, const ClientEndpoint* client);
  // The session's connected client; with `streamer_id` non-empty only if it runs there.
  std::shared_ptr<ClientEndpoint> find_client(const std::string& session_id,
                                              const std::string& streamer_id);
  // find_client, and unlists it.
  std::shared_ptr<ClientEndpoint> take_client(const std::string& session_id,
                                              const std::string& streamer_id);

  // ---- streamers ----
  // Reserves a streamer id for a link; false when another link holds it (registering,
  // registered or still closing).
  bool claim_streamer_id(const std::string& id, const std::shared_ptr<StreamerEndpoint>& link);
  void release_streamer_id(const std::string& id, const StreamerEndpoint* link);
  std::shared_ptr<StreamerEndpoint> registered_streamer(const std::string& id) const;

  // SessionEndListener
  void on_session_ended(const session::SessionRecord& session) override;

  size_t client_count() const;
  size_t streamer_count() const;

  const SignalingOptions options;
  const CorsPolicy cors;
  const std::string ice_config;  // the /config body
  session::SessionService& sessions;
  session::StreamerRegistry& registry;
  session::Store& store;
  const std::shared_ptr<const auth::TokenKeyRing> keys;
  const Clock& clock;
  HubMetrics metrics;
  std::atomic<BroadcastLink*> broadcast{nullptr};

 private:
  void run_timer();
  void check_caps();

  mutable std::mutex mu_;
  std::condition_variable cv_;  // untrack() and stop() signal it
  bool stopping_ = false;
  bool stopped_ = false;
  std::unique_ptr<ThreadPool> pool_;
  std::thread timer_;
  std::map<std::string, std::shared_ptr<ClientEndpoint>> clients_;  // connected, by session
  std::multiset<std::string> verifying_;                            // session ids
  std::map<std::string, session::EndCause> ended_while_verifying_;
  std::map<std::string, std::shared_ptr<StreamerEndpoint>> streamers_;  // by id
  std::set<std::shared_ptr<ClientEndpoint>> open_clients_;
  std::set<std::shared_ptr<StreamerEndpoint>> open_streamers_;
};

class ClientEndpoint final : public net::WebSocketHandler,
                             public std::enable_shared_from_this<ClientEndpoint> {
 public:
  ClientEndpoint(std::shared_ptr<Core> core, std::string session_id, std::string token);

  void on_open(std::shared_ptr<net::WebSocketConnection> connection) override;
  void on_text(std::string message) override;
  void on_close(int code, std::string reason, bool clean) override;

  const std::string& session_id() const { return session_id_; }

  // Under Core::mu_ (from Core::activate): becomes connected unless it closed already.
  bool activate_locked(std::shared_ptr<StreamerEndpoint> streamer, std::string account,
                       std::optional<TimePoint> cap_at);
  // Under Core::mu_: whether the duration cap is due (once); sets `account`.
  bool cap_due_locked(TimePoint now, std::string& account);
  bool runs_on_locked(const std::string& streamer_id) const;

  // The session is over for this connection: sends the client `error` with `reason` and
  // closes with its close code. Returns false when the connection was already done.
  bool end(const Error& reason);
  // Tells the streamer the session closed (if it was told it opened).
  void close_on_streamer(std::string_view reason);
  // The server is stopping: shutting_down, 1001 (the on_close that follows is a drop).
  void shutdown();
  // Relays a message from the streamer.
  void send(std::string message);

 private:
  enum class Phase { opening, verifying, activating, active, done };

  void verify();
  // Tells the streamer the session opened, unless the client closed or ended meanwhile.
  bool send_open(bool resumed);
  void refuse(const Error& error);
  void handle(const std::string& text);
  void flush_early();

  const std::shared_ptr<Core> core_;
  const std::string session_id_;
  std::string token_;   // until verified; never logged
  std::string remote_;  // set in on_open

  mutable std::mutex mu_;
  Phase phase_ = Phase::opening;
  std::shared_ptr<net::WebSocketConnection> ws_;
  std::shared_ptr<StreamerEndpoint> streamer_;
  std::string account_;
  std::optional<TimePoint> cap_at_;
  bool cap_fired_ = false;
  bool open_sent_ = false;  // the streamer got session_open
  bool closed_ = false;
  bool closed_clean_ = false;  // closed with 1000 after client_disconnecting
  bool disconnecting_ = false;
  std::vector<std::string> early_;  // messages received before verification finished
  size_t early_bytes_ = 0;
};

class StreamerEndpoint final : public net::WebSocketHandler,
                               public std::enable_shared_from_this<StreamerEndpoint> {
 public:
  explicit StreamerEndpoint(std::shared_ptr<Core> core);

  void on_open(std::shared_ptr<net::WebSocketConnection> connection) override;
  void on_text(std::string message) override;
  void on_close(int code, std::string reason, bool clean) override;

  // Set once, before the id is claimed; constant after.
  const std::string& id() const { return id_; }
  bool registered() const;
  void send(std::string message);
  void shutdown();

 private:
  // failed: the registration could not complete (store); the link is being closed.
  enum class Phase { opening, unregistered, registering, registered, failed, closed };

  void on_register(StreamerMessage message);
  void finish_register(const session::StreamerInfo& info);
  void on_signal(const StreamerMessage& message);
  void on_session_failed(const StreamerMessage& message);
  void on_broadcast(const StreamerMessage& message);
  void on_capacity(const StreamerMessage& message);
  void on_session_end(const StreamerMessage& message);
  // The link is gone: nothing more is placed here and its sessions end (not when stopping).
  void lost();
  void close_with(int code, std::string reason);

  const std::shared_ptr<Core> core_;
  std::string id_;
  std::string remote_;

  mutable std::mutex mu_;
  Phase phase_ = Phase::opening;
  bool closed_ = false;
  std::shared_ptr<net::WebSocketConnection> ws_;
};

}  // namespace ithaca::signaling::internal
