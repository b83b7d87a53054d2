#include "ithaca/base/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "ithaca/base/encoding.hpp"

namespace ithaca {

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // No entropy means no safe keys or ids: an impossible state for a server, so stop loudly.
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string random_token(size_t n_bytes) {
  return base64url_encode(random_bytes(n_bytes));
}

std::string random_id(std::string_view prefix) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  const std::string bytes = random_bytes(20);
  std::string id(prefix);
  for (unsigned char b : bytes) id += kAlphabet[b & 31];
  return id;
}

std::string time_ordered_id(std::string_view prefix, TimePoint at) {
  static constexpr char kSorted[] = "234567abcdefghijklmnopqrstuvwxyz";
  uint64_t ms = static_cast<uint64_t>(to_unix_ms(at));
  std::string id(prefix);
  for (int shift = 45; shift >= 0; shift -= 5) id += kSorted[(ms >> shift) & 31];
  for (unsigned char b : random_bytes(14)) id += kSorted[b & 31];
  return id;
}

}  // namespace ithaca
