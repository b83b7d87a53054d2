#include "ithaca/base/encoding.hpp"

#include <array>
#include <cstdint>

namespace ithaca {
namespace {

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<uint8_t, 256> make_b64_values() {
  std::array<uint8_t, 256> values{};
  for (auto& v : values) v = 0x80;  // not in the alphabet
  for (size_t i = 0; i < kB64.size(); ++i) {
    values[static_cast<unsigned char>(kB64[i])] = static_cast<uint8_t>(i);
  }
  return values;
}
constexpr auto kB64Values = make_b64_values();

}  // namespace

// Both write straight into their output, four characters or three bytes a step: the token
// code mints and verifies through them without touching the heap.
void base64url_append(std::string& out, std::string_view bytes) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size(), start = out.size();
  out.resize(start + (n * 4 + 2) / 3);
  char* o = out.data() + start;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    o[0] = kB64[v >> 18];
    o[1] = kB64[v >> 12 & 63];
    o[2] = kB64[v >> 6 & 63];
    o[3] = kB64[v & 63];
    o += 4;
  }
  if (n - i >= 1) {
    const uint32_t v = uint32_t{in[i]} << 16 | (n - i == 2 ? uint32_t{in[i + 1]} << 8 : 0);
    o[0] = kB64[v >> 18];
    o[1] = kB64[v >> 12 & 63];
    if (n - i == 2) o[2] = kB64[v >> 6 & 63];
  }
}

bool base64url_decode_into(std::string_view text, unsigned char* out, size_t& out_len) {
  if (text.size() % 4 == 1) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t full = text.size() / 4 * 4;
  size_t o = 0;
  for (size_t i = 0; i < full; i += 4) {
    const uint32_t a = kB64Values[p[i]], b = kB64Values[p[i + 1]];
    const uint32_t c = kB64Values[p[i + 2]], d = kB64Values[p[i + 3]];
    if ((a | b | c | d) & 0x80) return false;
    const uint32_t v = a << 18 | b << 12 | c << 6 | d;
    out[o] = static_cast<unsigned char>(v >> 16);
    out[o + 1] = static_cast<unsigned char>(v >> 8);
    out[o + 2] = static_cast<unsigned char>(v);
    o += 3;
  }
  const size_t rest = text.size() - full;
  if (rest > 0) {
    const uint32_t a = kB64Values[p[full]], b = kB64Values[p[full + 1]];
    const uint32_t c = rest == 3 ? kB64Values[p[full + 2]] : 0;
    if ((a | b | c) & 0x80) return false;
    const uint32_t v = a << 18 | b << 12 | c << 6;
    // Unused trailing bits must be zero, so every text has exactly one decoding (no malleable
    // tokens).
    if (rest == 2 && (v & 0xffff) != 0) return false;
    if (rest == 3 && (v & 0xff) != 0) return false;
    out[o++] = static_cast<unsigned char>(v >> 16);
    if (rest == 3) out[o++] = static_cast<unsigned char>(v >> 8);
  }
  out_len = o;
  return true;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_append(out, bytes);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out(text.size() * 3 / 4, '\0');
  size_t n = 0;
  if (!base64url_decode_into(text, reinterpret_cast<unsigned char*>(out.data()), n)) {
    return std::nullopt;
  }
  out.resize(n);
  return out;
}

std::string hex_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() * 2);
  for (unsigned char c : in) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // past U+10FFFF
    } else {
      return false;  // continuation byte, overlong lead (C0, C1) or F5..FF
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace ithaca
