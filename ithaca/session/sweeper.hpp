// Sweeper: the thread that applies time to sessions. Every `interval` it asks SessionService to
// end sessions whose deadline passed, and every hour it purges ended sessions older than the
// retention. Stops (and joins) in its destructor.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "ithaca/session/session_service.hpp"

namespace ithaca::session {

class Sweeper {
 public:
  Sweeper(SessionService& service, Store& store, const Clock& clock, milliseconds interval,
          std::chrono::hours retention);
  ~Sweeper();

 private:
  void run();

  SessionService& service_;
  Store& store_;
  const Clock& clock_;
  milliseconds interval_;
  std::chrono::hours retention_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ithaca::session
