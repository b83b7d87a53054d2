// Session and access tokens: JWT (RFC 7519) signed with HS256, a `kid` header naming the key.
//
// TokenKeyRing signs with one active key and verifies with it or any older key still listed, so
// the signing key can be rotated without breaking tokens in flight. Verification rejects, each
// with its own ErrorCode: malformed input, `alg` other than HS256 (`none` included), an unknown
// `kid`, a bad signature (compared in constant time), expiry and `iat` or `nbf` in the future
// (beyond the leeway), the wrong audience and the wrong role. Checking that a token belongs to a
// given session is the caller's job (token_wrong_session).
//
// Thread-safety: a TokenKeyRing is immutable after create(); sign() and verify() may be called
// from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ithaca/base/error.hpp"

namespace ithaca::auth {

enum class Role {
  player,     // a client credential: opens the signaling session of `session_id`
  spectator,  // view-only access to one broadcast stream
  api,        // an Odyssey-style access token from POST /auth/token (sub = API key id)
};
std::string_view to_string(Role role);
bool parse_role(std::string_view text, Role& out);

struct TokenClaims {
  std::string session_id;  // required for player and spectator tokens
  std::string account;
  Role role = Role::player;
  std::string audience;    // aud
  std::string jti;         // unique per token
  std::string subject;     // sub; the API key id for api tokens, else empty (omitted)
  int64_t issued_at = 0;   // iat, unix seconds
  int64_t expires_at = 0;  // exp, unix seconds

  bool operator==(const TokenClaims&) const = default;
};

struct HmacKey {
  std::string kid;     // 1..64 chars of [A-Za-z0-9._-]
  std::string secret;  // raw bytes, at least 32
};

struct VerifyRules {
  std::string audience;
  Role role = Role::player;
  int64_t leeway_seconds = 5;  // tolerated clock skew on exp, iat and nbf
};

class TokenKeyRing {
 public:
  // config_invalid when a kid is malformed or repeated, or a secret shorter than 32 bytes.
  static Result<std::shared_ptr<const TokenKeyRing>> create(HmacKey signing,
                                                            std::vector<HmacKey> verify_only = {});
  ~TokenKeyRing();
  TokenKeyRing(const TokenKeyRing&) = delete;
  TokenKeyRing& operator=(const TokenKeyRing&) = delete;

  // header {"alg":"HS256","kid":<active kid>,"typ":"JWT"}; payload keys in a fixed order.
  std::string sign(const TokenClaims& claims) const;
  Result<TokenClaims> verify(std::string_view token, const VerifyRules& rules,
                             int64_t now_unix_seconds) const;
  const std::string& signing_kid() const;

 private:
  struct Impl;
  explicit TokenKeyRing(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ithaca::auth
