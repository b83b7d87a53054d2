// Who is calling: turns `Authorization: Bearer ...` into an account. Two kinds of bearer are
// accepted everywhere: an API key ("ith_...", checked against its stored SHA-256 hash in
// constant time) and an Odyssey-style access token from POST /auth/token (a JWT of role `api`
// whose sub is the key id; the key must still be active, so revoking a key also stops its
// access tokens). Thread-safe.
//
// Failures are throttled (AuthLimits): a client address with too many failed attempts in a window
// is refused with RATE_LIMITED (429, Retry-After) before its credential is even checked; a key id
// with too many wrong secrets answers RATE_LIMITED to further wrong secrets, while the right one
// is still admitted (nobody can lock an owner out of a key). Successes are not counted. Each
// failure counts in ithaca_auth_failures_total; warnings are sampled, one per source a minute.
//
// Known keys are cached for kKeyCacheTtl, so a mint does not read the store to authenticate: a
// key revoked by another process (the `ithaca keys` CLI) stops working within that time.
#pragma once

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "ithaca/auth/token.hpp"
#include "ithaca/base/clock.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/net/http.hpp"
#include "ithaca/session/failure_throttle.hpp"
#include "ithaca/session/store.hpp"

namespace ithaca::api {

struct AuthLimits {
  int64_t max_failures_per_address = 0;  // 0: not throttled
  int64_t max_failures_per_key = 0;      // 0: not throttled
  std::chrono::seconds window{60};
};

struct Caller {
  std::string account;
  std::string key_id;
};

class Authenticator {
 public:
  // How long a key record is trusted without reading the store again.
  static constexpr std::chrono::seconds kKeyCacheTtl{1};

  Authenticator(session::Store& store, std::shared_ptr<const auth::TokenKeyRing> keys,
                const Clock& clock, std::string audience, int64_t leeway_seconds,
                AuthLimits limits = {}, metrics::Registry* metrics = nullptr);

  // missing_api_key, malformed_api_key, invalid_api_key, api_key_revoked, token_* errors;
  // RATE_LIMITED (with retry_after_seconds) when throttled.
  Result<Caller> authenticate(const net::HttpRequest& request) const;
  // Checks a plaintext API key (POST /auth/token's body) presented from `remote` (throttled
  // like authenticate()).
  Result<Caller> check_api_key(const std::string& plaintext, const std::string& remote) const;
  // Unthrottled: for callers that are not a network client (tests, tools).
  Result<Caller> check_api_key(const std::string& plaintext) const;
  // An access token for a caller, valid `ttl`.
  std::string issue_access_token(const Caller& caller, seconds ttl) const;

 private:
  Result<Caller> check_access_token(const std::string& token) const;
  Result<Caller> check_api_key(const std::string& plaintext, std::string* key_id) const;
  Result<Caller> throttled(const std::string& remote, const std::string& credential,
                           bool is_api_key) const;
  Result<Caller> active_key(const std::string& key_id) const;
  // The key record, from the cache while fresh, else from the store; nullopt: no such key.
  Result<std::optional<session::ApiKeyRecord>> find_key(const std::string& key_id) const;

  struct CachedKey {
    session::ApiKeyRecord record;
    std::chrono::steady_clock::time_point fetched;
  };
  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<std::string, CachedKey> cache_;

  session::Store& store_;
  std::shared_ptr<const auth::TokenKeyRing> keys_;
  const Clock& clock_;
  std::string audience_;
  int64_t leeway_seconds_;
  mutable session::FailureThrottle by_address_, by_key_;
  metrics::Counter* failed_ = nullptr;     // a credential checked and refused
  metrics::Counter* throttled_ = nullptr;  // refused unchecked (or as RATE_LIMITED)
};

}  // namespace ithaca::api
