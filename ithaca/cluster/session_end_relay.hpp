// SessionEndRelay: tells the other nodes when a session ends here, so the node whose client is
// connected to it closes that connection (an operator's DELETE on node A of a session whose
// client and streamer link are on node B). Redis pub/sub on one channel: publishing is a
// SessionEndListener on this node's SessionService; a subscriber thread hands every end
// published by another node to `deliver` (the signaling hub's end listener, which closes the
// client with the reason and tells the streamer, and ignores sessions it does not hold).
//
// Best effort by design: pub/sub does not store messages, so an end published while a node is
// disconnected from Redis is not delivered to it; that client's session is ended in the store
// all the same, and its next connect or resume is refused. The subscriber reconnects on its own.
//
// Thread-safe; one subscriber thread, started by the constructor and joined by the destructor.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "ithaca/session/connection_events.hpp"
#include "ithaca/store/redis/redis_client.hpp"

namespace ithaca::cluster {

class SessionEndRelay final : public session::SessionEndListener {
 public:
  using Deliver = std::function<void(const session::SessionRecord& ended)>;
  SessionEndRelay(std::shared_ptr<store::redis::RedisPool> pool, std::string node_id,
                  Deliver deliver);
  ~SessionEndRelay() override;
  SessionEndRelay(const SessionEndRelay&) = delete;
  SessionEndRelay& operator=(const SessionEndRelay&) = delete;

  // Publishes the end to the other nodes.
  void on_session_ended(const session::SessionRecord& session) override;

  // Whether the subscriber is subscribed now (for tests and logs).
  bool subscribed() const { return subscribed_; }

 private:
  void run();
  void handle(const std::string& payload);

  std::shared_ptr<store::redis::RedisPool> pool_;
  const std::string node_id_;
  const std::string channel_;
  Deliver deliver_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> subscribed_{false};
  std::thread thread_;
};

}  // namespace ithaca::cluster
