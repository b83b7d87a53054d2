#include "ithaca/base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace ithaca {

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(module)) return existing;
  auto created = spdlog::stderr_color_mt(module);
  created->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %n %v", spdlog::pattern_time_type::utc);
  created->set_level(spdlog::get_level());
  return created;
}

void set_log_level(std::string_view level) {
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

std::string redact_token(std::string_view token) {
  return std::string(token.substr(0, 6)) + "...(" + std::to_string(token.size()) + ")";
}

}  // namespace ithaca
