#include "ithaca/session/sweeper.hpp"

#include "ithaca/base/log.hpp"

namespace ithaca::session {

Sweeper::Sweeper(SessionService& service, Store& store, const Clock& clock, milliseconds interval,
                 std::chrono::hours retention, milliseconds orphan_grace,
                 StreamerPresent streamer_present)
    : service_(service),
      store_(store),
      clock_(clock),
      interval_(interval),
      retention_(retention),
      orphan_grace_(orphan_grace),
      streamer_present_(std::move(streamer_present)),
      thread_([this] { run(); }) {}

Sweeper::~Sweeper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Sweeper::run() {
  constexpr auto kPurgeEvery = std::chrono::hours(1);
  auto next_purge = std::chrono::steady_clock::now();
  bool orphans_checked = !streamer_present_ || orphan_grace_.count() <= 0;
  const TimePoint orphan_check_at = clock_.now() + orphan_grace_;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    // Drain everything due, a batch at a time.
    while (service_.sweep() > 0) {
    }
    if (!orphans_checked && clock_.now() >= orphan_check_at) {
      orphans_checked = true;
      if (const int n = service_.end_sessions_without_streamer(streamer_present_); n > 0) {
        logger("session")->warn(
            "ended sessions whose streamer did not link again within {} ms count={}",
            orphan_grace_.count(), n);
      }
    }
    if (std::chrono::steady_clock::now() >= next_purge) {
      next_purge += kPurgeEvery;
      if (auto purged = store_.purge_ended(clock_.now() - retention_); purged && *purged > 0) {
        logger("session")->info("purged ended sessions count={}", *purged);
      }
    }
    lock.lock();
  }
}

}  // namespace ithaca::session
