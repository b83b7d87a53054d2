// Sweeper: the thread that applies time to sessions. Every `interval` it asks SessionService to
// end sessions whose deadline passed, and every hour it purges ended sessions older than the
// retention. Once, `orphan_grace` after it starts (on the Clock), it ends the live sessions whose
// streamer is not `streamer_present` (streamer_disconnected): after a restart, sessions placed on
// a streamer that never links again would otherwise hold their places until the idle timeout.
// The grace should be a few seconds past the streamers' reconnect backoff (at most 10 s).
// Stops (and joins) in its destructor.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "ithaca/session/session_service.hpp"

namespace ithaca::session {

class Sweeper {
 public:
  using StreamerPresent = std::function<bool(const std::string& streamer_id)>;
  // An empty `streamer_present` or a zero grace: no orphan check.
  Sweeper(SessionService& service, Store& store, const Clock& clock, milliseconds interval,
          std::chrono::hours retention, milliseconds orphan_grace = milliseconds(0),
          StreamerPresent streamer_present = {});
  ~Sweeper();

 private:
  void run();

  SessionService& service_;
  Store& store_;
  const Clock& clock_;
  milliseconds interval_;
  std::chrono::hours retention_;
  milliseconds orphan_grace_;
  StreamerPresent streamer_present_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ithaca::session
