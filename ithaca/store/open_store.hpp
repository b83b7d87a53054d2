// open_store: the one place a store backend is picked from a URL, so apps/ithaca and the CLI
// agree on what "memory:", "sqlite:ithaca.db" or "redis://..." means.
//
//   "memory:" or "memory"   MemoryStore (nothing survives the process)
//   "sqlite:PATH"           SqliteStore at PATH; a relative PATH is relative to data_dir
//   "redis://HOST:PORT[/DB]" RedisStore (shared by every node of a deployment; connects lazily)
//   ""                      sqlite:ithaca.db in data_dir
//
// Any other scheme is config_invalid.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ithaca/base/error.hpp"
#include "ithaca/session/store.hpp"

namespace ithaca::store {

Result<std::unique_ptr<session::Store>> open_store(std::string_view url,
                                                   const std::string& data_dir);

}  // namespace ithaca::store
