#include "ithaca/api/authenticator.hpp"

#include <mutex>

#include "ithaca/auth/api_key.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"

namespace ithaca::api {

Authenticator::Authenticator(session::Store& store, std::shared_ptr<const auth::TokenKeyRing> keys,
                             const Clock& clock, std::string audience, int64_t leeway_seconds,
                             AuthLimits limits, metrics::Registry* metrics)
    : store_(store),
      keys_(std::move(keys)),
      clock_(clock),
      audience_(std::move(audience)),
      leeway_seconds_(leeway_seconds),
      by_address_(clock, limits.max_failures_per_address, limits.window),
      by_key_(clock, limits.max_failures_per_key, limits.window) {
  if (metrics) {
    auto& family = metrics->counter_family(
        "ithaca_auth_failures_total",
        "Failed API authentications: refused credentials, and attempts refused as throttled.",
        "outcome");
    failed_ = &family.with("refused");
    throttled_ = &family.with("throttled");
  }
}

namespace {

// What counts as a guess: a credential that was checked and is wrong. A missing header, an
// expired token or a store outage is not one.
bool is_guess(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_api_key:
    case ErrorCode::malformed_api_key:
    case ErrorCode::token_malformed:
    case ErrorCode::token_unsupported_alg:
    case ErrorCode::token_unknown_kid:
    case ErrorCode::token_bad_signature:
      return true;
    default:
      return false;
  }
}

Error rate_limited(int64_t seconds) {
  return make_error(ErrorCode::RATE_LIMITED, "too many failed authentications; retry later",
                    {{"retry_after_seconds", seconds}});
}

}  // namespace

Result<Caller> Authenticator::throttled(const std::string& remote, const std::string& credential,
                                        bool is_api_key) const {
  if (const int64_t wait = by_address_.blocked_for(remote); wait > 0) {
    if (throttled_) throttled_->inc();
    return rate_limited(wait);
  }
  std::string key_id;
  auto caller = is_api_key ? check_api_key(credential, &key_id) : check_access_token(credential);
  if (caller || !is_guess(caller.error().code)) return caller;
  if (failed_) failed_->inc();
  const auto recorded = by_address_.record_failure(remote);
  if (recorded.warn) {
    logger("api")->warn("authentication failed remote={} error={} failures_since_last_warning={}",
                        remote.empty() ? "-" : remote, caller.error().name(), recorded.unlogged);
  }
  if (!key_id.empty()) {
    // Only ids of real keys are tracked (a wrong secret for a stored key), so guesses of ids
    // cannot grow the table.
    const int64_t wait = by_key_.blocked_for(key_id);
    const auto by_key = by_key_.record_failure(key_id);
    if (by_key.now_blocked) {
      logger("api")->warn("wrong secrets for key={} reached the limit; further ones are throttled",
                          key_id);
    }
    if (wait > 0) {
      if (throttled_) throttled_->inc();
      return rate_limited(wait);
    }
  }
  return caller;
}

Result<Caller> Authenticator::authenticate(const net::HttpRequest& request) const {
  const auto bearer = net::bearer_token(request);
  if (!bearer) return make_error(ErrorCode::missing_api_key);
  const std::string& credential = *bearer;
  if (auth::looks_like_api_key(credential)) {
    auto caller = throttled(request.remote_address, credential, /*is_api_key=*/true);
    // On these routes a malformed key is just an invalid one (401), as the Odyssey API does.
    if (!caller && caller.error().code == ErrorCode::malformed_api_key) {
      return make_error(ErrorCode::invalid_api_key);
    }
    return caller;
  }
  return throttled(request.remote_address, credential, /*is_api_key=*/false);
}

Result<Caller> Authenticator::check_api_key(const std::string& plaintext,
                                            const std::string& remote) const {
  return throttled(remote, plaintext, /*is_api_key=*/true);
}

Result<Caller> Authenticator::check_api_key(const std::string& plaintext) const {
  return check_api_key(plaintext, static_cast<std::string*>(nullptr));
}

Result<Caller> Authenticator::check_api_key(const std::string& plaintext,
                                            std::string* key_id) const {
  auto presented = auth::parse_api_key(plaintext);
  if (!presented) return std::move(presented).error();
  auto record = find_key(presented->key_id);
  if (!record) return std::move(record).error();
  if (!*record) {
    // Same work as a real comparison, so timing does not tell which key ids exist.
    (void)auth::api_key_secret_matches(presented->secret, std::string(64, '0'));
    return make_error(ErrorCode::invalid_api_key);
  }
  if (!auth::api_key_secret_matches(presented->secret, (*record)->secret_hash)) {
    if (key_id) *key_id = presented->key_id;
    return make_error(ErrorCode::invalid_api_key);
  }
  if ((*record)->revoked_at) return make_error(ErrorCode::api_key_revoked);
  return Caller{(*record)->account, (*record)->key_id};
}

Result<Caller> Authenticator::check_access_token(const std::string& token) const {
  auto claims = keys_->verify(token, {audience_, auth::Role::api, leeway_seconds_},
                              to_unix_seconds(clock_.now()));
  if (!claims) {
    // A session token presented as an API credential is the wrong kind of token.
    return std::move(claims).error();
  }
  auto caller = active_key(claims->subject);
  if (!caller) return caller;
  if (caller->account != claims->account) return make_error(ErrorCode::invalid_api_key);
  return caller;
}

Result<std::optional<session::ApiKeyRecord>> Authenticator::find_key(
    const std::string& key_id) const {
  const auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(key_id);
    if (it != cache_.end() && now - it->second.fetched < kKeyCacheTtl) {
      return std::optional<session::ApiKeyRecord>{it->second.record};
    }
  }
  auto record = store_.find_api_key(key_id);
  if (!record) return record;
  std::unique_lock lock(cache_mu_);
  if (*record) {
    cache_[key_id] = CachedKey{**record, now};
  } else {
    cache_.erase(key_id);  // unknown ids are not cached: random guesses cannot grow the map
  }
  return record;
}

Result<Caller> Authenticator::active_key(const std::string& key_id) const {
  auto record = find_key(key_id);
  if (!record) return std::move(record).error();
  if (!*record) return make_error(ErrorCode::invalid_api_key);
  if ((*record)->revoked_at) return make_error(ErrorCode::api_key_revoked);
  return Caller{(*record)->account, (*record)->key_id};
}

std::string Authenticator::issue_access_token(const Caller& caller, seconds ttl) const {
  const int64_t now = to_unix_seconds(clock_.now());
  auth::TokenClaims claims;
  claims.account = caller.account;
  claims.role = auth::Role::api;
  claims.audience = audience_;
  claims.jti = random_token(12);
  claims.subject = caller.key_id;
  claims.issued_at = now;
  claims.expires_at = now + ttl.count();
  return keys_->sign(claims);
}

}  // namespace ithaca::api
