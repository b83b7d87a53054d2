// Failed attempts to authenticate, counted per source (a client address, a key id) in fixed
// windows on the injected Clock. A source with `max_failures` failures in its window is refused
// until the window ends; successes are never counted, so good credentials are not slowed.
// Thread-safe. A limit of 0 turns the refusals off (failures are still counted for the sampled
// warnings).
//
// Warnings are sampled: record_failure() says to log the first failure of a source, then at most
// one a minute per source with the number of failures since the last one logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ithaca/base/clock.hpp"

namespace ithaca::session {

class FailureThrottle {
 public:
  static constexpr std::chrono::seconds kWarnEvery{60};
  // More distinct sources than this and the ones whose window ended are dropped.
  static constexpr size_t kMaxTracked = 100000;

  FailureThrottle(const Clock& clock, int64_t max_failures, std::chrono::seconds window);

  // 0 when `source` may try now; else the whole seconds until its window ends (Retry-After).
  int64_t blocked_for(const std::string& source);

  struct Recorded {
    bool warn = false;         // log this failure (sampled)
    int64_t unlogged = 0;      // failures of this source since the last one logged, this included
    bool now_blocked = false;  // this failure reached the limit
  };
  Recorded record_failure(const std::string& source);

  bool enabled() const { return max_failures_ > 0; }

 private:
  struct Entry {
    TimePoint window_start;
    int64_t failures = 0;
    TimePoint last_warned;
    bool warned = false;
    int64_t unlogged = 0;
  };
  void prune(TimePoint now);

  const Clock& clock_;
  const int64_t max_failures_;
  const std::chrono::seconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace ithaca::session
