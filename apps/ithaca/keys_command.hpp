// `ithaca keys create|list|revoke`: API key administration straight on the store, so operators
// can script it with the server running or not (SQLite takes writers from several processes).
#pragma once

#include <optional>
#include <string>

#include "ithaca/config/config.hpp"

namespace ithaca::app {

// Each returns the process exit code and prints what an operator script reads: create prints
// the new key and nothing else on stdout.
int keys_create(const config::Config& config, const std::string& account,
                std::optional<int> max_concurrent);
int keys_list(const config::Config& config, bool as_json);
int keys_revoke(const config::Config& config, const std::string& key_id);

}  // namespace ithaca::app
