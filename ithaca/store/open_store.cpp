#include "ithaca/store/open_store.hpp"

#include <filesystem>

#include "ithaca/store/memory/memory_store.hpp"
#include "ithaca/store/redis/redis_store.hpp"
#include "ithaca/store/sqlite/sqlite_store.hpp"

namespace ithaca::store {

namespace {

// The file of the default store, in data_dir.
constexpr std::string_view kDefaultSqliteFile = "ithaca.db";

Result<std::unique_ptr<session::Store>> open_sqlite(std::string_view file,
                                                    const std::string& data_dir) {
  if (file.empty()) {
    return make_error(ErrorCode::config_invalid, "store url 'sqlite:' needs a path");
  }
  std::filesystem::path path(file);
  if (path.is_relative()) path = std::filesystem::path(data_dir) / path;
  auto opened = SqliteStore::open(path.string());
  if (!opened) return std::move(opened).error();
  return std::unique_ptr<session::Store>(std::move(opened).value());
}

}  // namespace

Result<std::unique_ptr<session::Store>> open_store(std::string_view url,
                                                   const std::string& data_dir) {
  if (url.empty()) return open_sqlite(kDefaultSqliteFile, data_dir);
  if (url == "memory:" || url == "memory") {
    return std::unique_ptr<session::Store>(std::make_unique<MemoryStore>());
  }
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) return open_sqlite(url.substr(kSqlite.size()), data_dir);
  if (url.starts_with("redis://")) {
    auto opened = RedisStore::open(url);
    if (!opened) return std::move(opened).error();
    return std::unique_ptr<session::Store>(std::move(opened).value());
  }

  const auto colon = url.find(':');
  const std::string scheme(colon == std::string_view::npos ? url : url.substr(0, colon));
  return make_error(ErrorCode::config_invalid,
                    "unsupported store url scheme '" + scheme +
                        "' (expected memory:, sqlite:PATH or redis://HOST:PORT[/DB])",
                    {{"scheme", scheme}});
}

}  // namespace ithaca::store
