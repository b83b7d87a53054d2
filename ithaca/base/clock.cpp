#include "ithaca/base/clock.hpp"

#include <ctime>
#include <string>

namespace ithaca {

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

std::string to_rfc3339(TimePoint t) {
  const int64_t ms = to_unix_ms(t);
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace ithaca
