#include "ithaca/session/sweeper.hpp"

#include "ithaca/base/log.hpp"

namespace ithaca::session {

Sweeper::Sweeper(SessionService& service, Store& store, const Clock& clock, milliseconds interval,
                 std::chrono::hours retention)
    : service_(service),
      store_(store),
      clock_(clock),
      interval_(interval),
      retention_(retention),
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
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    // Drain everything due, a batch at a time.
    while (service_.sweep() > 0) {
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
