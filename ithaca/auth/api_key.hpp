// API keys: "ith_" + key id (16 chars) + "_" + secret (43 chars of base64url, 256 bits).
// The key id is public (listed, revoked by); only SHA-256 of the secret is stored, and a
// presented secret is compared with that hash in constant time. A key's plaintext exists once,
// when it is generated, and is never logged.
#pragma once

#include <string>
#include <string_view>

#include "ithaca/base/error.hpp"

namespace ithaca::auth {

struct NewApiKey {
  std::string key_id;
  std::string plaintext;    // shown to the operator once
  std::string secret_hash;  // hex SHA-256 of the secret part, what the store keeps
};

struct PresentedApiKey {
  std::string key_id;
  std::string secret;
};

NewApiKey generate_api_key();
// malformed_api_key when the text is not in the key format.
Result<PresentedApiKey> parse_api_key(std::string_view text);
// True when the text looks like an API key rather than a JWT (for Bearer dispatch).
bool looks_like_api_key(std::string_view text);
std::string hash_api_key_secret(std::string_view secret);
bool api_key_secret_matches(std::string_view secret, std::string_view stored_hash);

}  // namespace ithaca::auth
