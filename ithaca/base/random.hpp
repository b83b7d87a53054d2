// Unpredictable bytes and identifiers from OpenSSL's CSPRNG (RAND_bytes). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "ithaca/base/clock.hpp"

namespace ithaca {

std::string random_bytes(size_t n);
// n random bytes, base64url without padding.
std::string random_token(size_t n_bytes);
// A prefixed id: prefix + 20 chars of lowercase base32 (100 bits), e.g. "ses_k3v...".
std::string random_id(std::string_view prefix);
// A prefixed id that sorts by time: 10 chars of the unix milliseconds, then 14 random chars
// (70 bits), in a base32 alphabet in ASCII order. Database indexes on such ids grow at their
// right edge, so a batch of inserts touches a few pages instead of one page per row.
std::string time_ordered_id(std::string_view prefix, TimePoint at);

}  // namespace ithaca
