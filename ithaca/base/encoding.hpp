// Byte encodings used on the wire: base64url (RFC 4648 section 5, no padding) and hex.
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

}  // namespace ithaca
