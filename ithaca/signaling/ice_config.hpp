// The answer to GET {signaling_url}/config: the ICE servers a client's RTCPeerConnection uses,
// {"iceServers":[{"urls":[...],"username"?,"credential"?}]}. STUN URLs form one entry without
// credentials; TURN URLs (turn:, turns:) another, carrying signaling.turn_username and
// turn_credential when set. No URLs configured: an empty list (host candidates only, fine on a
// LAN and on loopback).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ithaca::signaling {

nlohmann::ordered_json ice_config_json(const std::vector<std::string>& urls,
                                       const std::string& turn_username,
                                       const std::string& turn_credential);

}  // namespace ithaca::signaling
