#include "keys_command.hpp"

#include <cstdio>
#include <iostream>

#include "ithaca/auth/api_key.hpp"
#include "ithaca/store/open_store.hpp"

namespace ithaca::app {
namespace {

int fail(const Error& e) {
  std::cerr << "ithaca: " << e.to_string() << '\n';
  return e.code == ErrorCode::config_invalid ? 2 : 1;
}

}  // namespace

int keys_create(const config::Config& config, const std::string& account,
                std::optional<int> max_concurrent) {
  if (account.empty() || account.size() > 64) {
    return fail(make_error(ErrorCode::invalid_request, "--account must be 1..64 characters"));
  }
  if (max_concurrent && *max_concurrent < 0) {
    return fail(make_error(ErrorCode::invalid_request, "--max-concurrent must not be negative"));
  }
  auto store = store::open_store(config.store, config.data_dir);
  if (!store) return fail(store.error());
  auto existing = (*store)->get_account(account);
  if (!existing) return fail(existing.error());
  // A new account gets the default limit; an existing one keeps its own unless told otherwise.
  if (!*existing || max_concurrent) {
    const int limit = max_concurrent.value_or(static_cast<int>(config.default_max_concurrent));
    if (auto s = (*store)->upsert_account({account, limit}); !s) return fail(s.error());
  }
  const auto key = auth::generate_api_key();
  if (auto s = (*store)->insert_api_key(
          {key.key_id, account, key.secret_hash, SystemClock::instance().now(), std::nullopt});
      !s) {
    return fail(s.error());
  }
  std::cout << key.plaintext << std::endl;
  return 0;
}

int keys_list(const config::Config& config, bool as_json) {
  auto store = store::open_store(config.store, config.data_dir);
  if (!store) return fail(store.error());
  auto keys = (*store)->list_api_keys();
  if (!keys) return fail(keys.error());
  if (as_json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& k : *keys) {
      out.push_back({{"key_id", k.key_id},
                     {"account", k.account},
                     {"created_at", to_rfc3339(k.created_at)},
                     {"revoked_at", k.revoked_at ? nlohmann::ordered_json(to_rfc3339(*k.revoked_at))
                                                 : nlohmann::ordered_json(nullptr)}});
    }
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  std::printf("%-18s %-20s %-26s %s\n", "KEY_ID", "ACCOUNT", "CREATED", "STATUS");
  for (const auto& k : *keys) {
    std::printf("%-18s %-20s %-26s %s\n", k.key_id.c_str(), k.account.c_str(),
                to_rfc3339(k.created_at).c_str(),
                k.revoked_at ? ("revoked " + to_rfc3339(*k.revoked_at)).c_str() : "active");
  }
  return 0;
}

int keys_revoke(const config::Config& config, const std::string& key_id) {
  auto store = store::open_store(config.store, config.data_dir);
  if (!store) return fail(store.error());
  auto revoked = (*store)->revoke_api_key(key_id, SystemClock::instance().now());
  if (!revoked) return fail(revoked.error());
  if (!*revoked) return fail(make_error(ErrorCode::invalid_request, "no key with id " + key_id));
  std::cout << "revoked " << key_id << std::endl;
  return 0;
}

}  // namespace ithaca::app
