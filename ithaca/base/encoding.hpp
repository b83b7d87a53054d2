// Byte encodings used on the wire: base64url (RFC 4648 section 5, no padding), hex, UTF-8.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ithaca {

std::string base64url_encode(std::string_view bytes);
// The same, appended to `out`.
void base64url_append(std::string& out, std::string_view bytes);
// Accepts unpadded input only (as JWT does); nullopt on any character outside the alphabet or
// an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);
// The same, into a caller's buffer of at least text.size() * 3 / 4 bytes; false where
// base64url_decode gives nullopt.
bool base64url_decode_into(std::string_view text, unsigned char* out, size_t& out_len);
std::string hex_encode(std::string_view bytes);
// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF). What may go
// into a JSON document: nlohmann::json::dump() throws on anything else.
bool is_valid_utf8(std::string_view bytes);

}  // namespace ithaca
