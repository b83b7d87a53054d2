// Byte encodings used on the wire: base64url (RFC 4648 section 5, no padding), hex, UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ithaca {

std::string base64url_encode(std::string_view bytes);
// Accepts unpadded input only (as JWT does); nullopt on any character outside the alphabet or
// an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF). What may go
// into a JSON document: nlohmann::json::dump() throws on anything else.
bool is_valid_utf8(std::string_view bytes);

}  // namespace ithaca
