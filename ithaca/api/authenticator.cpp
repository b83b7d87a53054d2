#include "ithaca/api/authenticator.hpp"

#include <mutex>

#include "ithaca/auth/api_key.hpp"
#include "ithaca/base/random.hpp"

namespace ithaca::api {

Authenticator::Authenticator(session::Store& store, std::shared_ptr<const auth::TokenKeyRing> keys,
                             const Clock& clock, std::string audience, int64_t leeway_seconds)
    : store_(store),
      keys_(std::move(keys)),
      clock_(clock),
      audience_(std::move(audience)),
      leeway_seconds_(leeway_seconds) {}

Result<Caller> Authenticator::authenticate(const net::HttpRequest& request) const {
  const auto bearer = net::bearer_token(request);
  if (!bearer) return make_error(ErrorCode::missing_api_key);
  const std::string& credential = *bearer;
  if (auth::looks_like_api_key(credential)) {
    auto caller = check_api_key(credential);
    // On these routes a malformed key is just an invalid one (401), as the Odyssey API does.
    if (!caller && caller.error().code == ErrorCode::malformed_api_key) {
      return make_error(ErrorCode::invalid_api_key);
    }
    return caller;
  }
  return check_access_token(credential);
}

Result<Caller> Authenticator::check_api_key(const std::string& plaintext) const {
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
