// What signaling reads from an upgrade request before deciding on it: which endpoint the path
// names, the client's token (query or subprotocol) and the streamer's secret. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ithaca/net/http.hpp"

namespace ithaca::signaling {

inline constexpr std::string_view kSignalingPrefix = "/signaling/";
inline constexpr std::string_view kConfigPath = "/signaling/config";
// The same ICE configuration where WHEP clients look for it: {origin of webrtc_url}/config.
inline constexpr std::string_view kRootConfigPath = "/config";
inline constexpr std::string_view kClientPathPrefix = "/signaling/client/";
inline constexpr std::string_view kStreamerPath = "/signaling/streamer";
// The subprotocol that carries a token: "ithaca.token.<session token>".
inline constexpr std::string_view kTokenSubprotocolPrefix = "ithaca.token.";

// 1..128 of [A-Za-z0-9_-] (ids are "ses_" + base32).
bool valid_session_id(std::string_view id);
// The session id of "/signaling/client/{id}"; nullopt when the path is not that or the id is
// not a valid one.
std::optional<std::string> client_session_id(std::string_view path);

struct PresentedToken {
  std::string token;                       // empty when none was presented
  std::optional<std::string> subprotocol;  // the offered ithaca.token.* protocol, to echo
};
// The client's token: the `token` query parameter (percent-decoded) when present, else the
// first offered subprotocol "ithaca.token.<token>". When such a subprotocol was offered it is
// returned for the server to echo, whichever source the token came from.
PresentedToken presented_token(const net::HttpRequest& request);

// The credential of "Authorization: Bearer <x>" (net/http.hpp: the one parser of every route).
using net::bearer_token;
// Constant-time in the contents of both (compares SHA-256 digests with CRYPTO_memcmp).
bool secret_matches(std::string_view presented, std::string_view expected);

}  // namespace ithaca::signaling
