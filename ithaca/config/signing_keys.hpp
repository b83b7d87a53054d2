// The token key ring from configuration. The signing key comes from tokens.signing_key
// ("KID:SECRET", the secret base64url, at least 32 bytes) or, when that is empty, from
// <data_dir>/signing.key, which is generated on first start with mode 0600 and reused after, so
// tokens survive a restart. tokens.verification_keys lists older keys still accepted, for
// rotation: add the new key as signing_key, keep the old one here until its tokens expired.
// The streamer secret follows the same pattern (load_streamer_secret).
#pragma once

#include <memory>
#include <string>

#include "ithaca/auth/token.hpp"
#include "ithaca/config/config.hpp"

namespace ithaca::config {

Result<auth::HmacKey> parse_key_spec(const std::string& spec, const std::string& where);
Result<std::shared_ptr<const auth::TokenKeyRing>> load_key_ring(const Config& config);

// The secret streamers present on the streamer link (Authorization: Bearer): the configured
// streaming.streamer_secret (at least 16 characters), or, when that is empty,
// <data_dir>/streamer.secret, generated on first start (32 random bytes, base64url, mode 0600)
// and reused after, so a streamer configured with it keeps working across restarts.
Result<std::string> load_streamer_secret(const Config& config);

}  // namespace ithaca::config
