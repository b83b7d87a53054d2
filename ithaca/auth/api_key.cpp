#include "ithaca/auth/api_key.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "ithaca/base/encoding.hpp"
#include "ithaca/base/random.hpp"

namespace ithaca::auth {
namespace {

constexpr std::string_view kPrefix = "ith_";
constexpr size_t kKeyIdChars = 16;
constexpr size_t kSecretBytes = 32;  // 256 bits: no guessing, so a fast hash suffices
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes

bool is_base32_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}
bool is_b64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

NewApiKey generate_api_key() {
  NewApiKey key;
  key.key_id = random_id("").substr(0, kKeyIdChars);
  const std::string secret = random_token(kSecretBytes);
  key.plaintext = std::string(kPrefix) + key.key_id + "_" + secret;
  key.secret_hash = hash_api_key_secret(secret);
  return key;
}

bool looks_like_api_key(std::string_view text) {
  return text.substr(0, 4) == kPrefix;
}

Result<PresentedApiKey> parse_api_key(std::string_view text) {
  const size_t want = kPrefix.size() + kKeyIdChars + 1 + kSecretChars;
  if (text.size() != want || !looks_like_api_key(text) ||
      text[kPrefix.size() + kKeyIdChars] != '_') {
    return make_error(ErrorCode::malformed_api_key);
  }
  const auto id = text.substr(kPrefix.size(), kKeyIdChars);
  const auto secret = text.substr(kPrefix.size() + kKeyIdChars + 1);
  for (char c : id) {
    if (!is_base32_lower(c)) return make_error(ErrorCode::malformed_api_key);
  }
  for (char c : secret) {
    if (!is_b64url(c)) return make_error(ErrorCode::malformed_api_key);
  }
  return PresentedApiKey{std::string(id), std::string(secret)};
}

std::string hash_api_key_secret(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool api_key_secret_matches(std::string_view secret, std::string_view stored_hash) {
  const std::string presented = hash_api_key_secret(secret);
  return presented.size() == stored_hash.size() &&
         CRYPTO_memcmp(presented.data(), stored_hash.data(), presented.size()) == 0;
}

}  // namespace ithaca::auth
