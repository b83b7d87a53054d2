// Time, injected. Every time-dependent rule (token expiry, idle cleanup, sweeps) reads a Clock,
// so tests jump 15 minutes in a microsecond with ManualClock. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ithaca {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  static SystemClock& instance();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{seconds{1'700'000'000}}) : ns_(ticks(start)) {}
  TimePoint now() const override {
    return TimePoint{
        std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds{ns_.load()})};
  }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }
  void set(TimePoint t) { ns_ = ticks(t); }

 private:
  static int64_t ticks(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> ns_;
};

inline int64_t to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}
inline int64_t to_unix_seconds(TimePoint t) {
  return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}
inline TimePoint from_unix_ms(int64_t ms) {
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(milliseconds{ms})};
}
inline TimePoint from_unix_seconds(int64_t s) {
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(seconds{s})};
}
// RFC 3339 in UTC with milliseconds, e.g. 2026-11-27T21:18:51.123Z.
std::string to_rfc3339(TimePoint t);

}  // namespace ithaca
