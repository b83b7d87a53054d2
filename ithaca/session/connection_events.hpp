// How signaling tells the control plane what a client's connection did. The signaling server
// verifies the token (signature, expiry, audience, role) and then reports; the implementation
// (SessionService) applies the lifecycle rules of docs/life-of-a-session.md.
#pragma once

#include <string>

#include "ithaca/auth/token.hpp"
#include "ithaca/base/error.hpp"
#include "ithaca/session/types.hpp"

namespace ithaca::session {

class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  // A client presenting verified `claims` opens the session named in the URL. Refused with
  // token_wrong_session, token_revoked, session_not_found, session_ended or
  // session_already_connected.
  virtual Result<SessionRecord> on_connect(const auth::TokenClaims& claims,
                                           const std::string& session_id) = 0;
  // The client said client_disconnecting and closed with 1000: the session ends now.
  virtual Status on_clean_disconnect(const std::string& session_id) = 0;
  // The connection died any other way: the session waits for a resume until its token expires.
  virtual Status on_unclean_drop(const std::string& session_id) = 0;
};

// Told of every session end, on the thread that ended it (e.g. to close a client's socket with
// the reason). Must not block.
class SessionEndListener {
 public:
  virtual ~SessionEndListener() = default;
  virtual void on_session_ended(const SessionRecord& session) = 0;
};

}  // namespace ithaca::session
