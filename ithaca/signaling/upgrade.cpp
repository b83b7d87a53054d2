#include "ithaca/signaling/upgrade.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace ithaca::signaling {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool valid_session_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> client_session_id(std::string_view path) {
  if (path.substr(0, kClientPathPrefix.size()) != kClientPathPrefix) return std::nullopt;
  const std::string_view id = path.substr(kClientPathPrefix.size());
  if (!valid_session_id(id)) return std::nullopt;
  return std::string(id);
}

PresentedToken presented_token(const net::HttpRequest& request) {
  PresentedToken out;
  std::string_view offered = request.header("sec-websocket-protocol");
  while (!offered.empty()) {
    const auto comma = offered.find(',');
    const std::string_view item = trim(offered.substr(0, comma));
    if (item.size() > kTokenSubprotocolPrefix.size() &&
        item.substr(0, kTokenSubprotocolPrefix.size()) == kTokenSubprotocolPrefix) {
      out.subprotocol = std::string(item);
      break;
    }
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  if (auto q = request.query_param("token"); q && !q->empty()) {
    out.token = std::move(*q);
  } else if (out.subprotocol) {
    out.token = out.subprotocol->substr(kTokenSubprotocolPrefix.size());
  }
  return out;
}

bool secret_matches(std::string_view presented, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return !expected.empty() && CRYPTO_memcmp(a, b, sizeof a) == 0;
}

}  // namespace ithaca::signaling
