#include "ithaca/session/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace ithaca::session {

RateLimiter::RateLimiter(const Clock& clock, double rate_per_second, double burst)
    : clock_(clock), rate_(rate_per_second), burst_(std::max(1.0, burst)) {}

int64_t RateLimiter::acquire(const std::string& key) {
  if (rate_ <= 0) return 0;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate_)));
}

}  // namespace ithaca::session
