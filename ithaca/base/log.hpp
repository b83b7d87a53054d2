// Logging facade over spdlog: one named logger per module, key=value messages, one info line
// per lifecycle transition. Secrets never reach a log: API keys are not logged at all and tokens
// only through redact_token().
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace ithaca {

// The logger of a module ("api", "session", "store", ...), created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& module);
// Sets the level of every logger: trace, debug, info, warn, error, off.
void set_log_level(std::string_view level);
// The first 6 characters and the length: enough to correlate, useless to replay.
std::string redact_token(std::string_view token);

}  // namespace ithaca
