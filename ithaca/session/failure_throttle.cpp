#include "ithaca/session/failure_throttle.hpp"

#include <algorithm>

namespace ithaca::session {

FailureThrottle::FailureThrottle(const Clock& clock, int64_t max_failures,
                                 std::chrono::seconds window)
    : clock_(clock),
      max_failures_(max_failures),
      window_(std::max(window, std::chrono::seconds(1))) {}

int64_t FailureThrottle::blocked_for(const std::string& source) {
  if (!enabled()) return 0;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  auto it = entries_.find(source);
  if (it == entries_.end() || it->second.failures < max_failures_) return 0;
  const TimePoint end = it->second.window_start + window_;
  if (now >= end) return 0;
  const auto left = std::chrono::ceil<std::chrono::seconds>(end - now).count();
  return std::max<int64_t>(1, left);
}

FailureThrottle::Recorded FailureThrottle::record_failure(const std::string& source) {
  Recorded out;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxTracked && !entries_.contains(source)) prune(now);
  Entry& e = entries_[source];
  if (e.failures == 0 || now >= e.window_start + window_) {
    e.window_start = now;
    e.failures = 0;
  }
  ++e.failures;
  ++e.unlogged;
  out.now_blocked = e.failures == max_failures_;
  if (!e.warned || now - e.last_warned >= kWarnEvery) {
    out.warn = true;
    out.unlogged = e.unlogged;
    e.warned = true;
    e.last_warned = now;
    e.unlogged = 0;
  }
  return out;
}

void FailureThrottle::prune(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) {
    return now >= kv.second.window_start + window_ && now - kv.second.last_warned >= kWarnEvery;
  });
  if (entries_.size() >= kMaxTracked) entries_.clear();  // a flood of sources: start over
}

}  // namespace ithaca::session
