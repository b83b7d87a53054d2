// A token bucket per key (the account): `rate` requests a second on average, bursts of `burst`.
// Runs on the injected Clock. Thread-safe. A rate of 0 disables the limit.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "ithaca/base/clock.hpp"

namespace ithaca::session {

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double rate_per_second, double burst);
  // 0 when allowed (and counted); else the whole seconds to wait before a retry can succeed.
  int64_t acquire(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    TimePoint updated;
  };
  const Clock& clock_;
  double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace ithaca::session
