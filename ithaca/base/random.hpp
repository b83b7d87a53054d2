// Unpredictable bytes and identifiers from OpenSSL's CSPRNG (RAND_bytes). Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ithaca {

std::string random_bytes(size_t n);
// n random bytes, base64url without padding.
std::string random_token(size_t n_bytes);
// A prefixed id: prefix + 20 chars of lowercase base32 (100 bits), e.g. "ses_k3v...".
std::string random_id(std::string_view prefix);

}  // namespace ithaca
