// The client credentials object (docs/odyssey-compatibility.md section 2): what a mint returns
// and what every SDK serializes identically. Key order is fixed (session_id, signaling_url,
// session_token, expires_in, capabilities) and the JSON compact, pinned by
// spec/vectors/credentials.json.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ithaca/session/types.hpp"

namespace ithaca::session {

struct ClientCredentials {
  std::string session_id;
  std::string signaling_url;
  std::string session_token;
  int64_t expires_in = 0;  // seconds
  Capabilities capabilities;
};

nlohmann::ordered_json to_json(const ClientCredentials& credentials);

}  // namespace ithaca::session
