// The records the control plane keeps: accounts, API keys and sessions, and the words for a
// session's state and for why it ended. Plain values; no behaviour beyond naming.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ithaca/base/clock.hpp"

namespace ithaca::session {

struct Account {
  std::string name;
  int max_concurrent = 0;  // live sessions the account may hold at once

  bool operator==(const Account&) const = default;
};

struct ApiKeyRecord {
  std::string key_id;
  std::string account;
  std::string secret_hash;  // hex SHA-256 of the key's secret; the plaintext is never stored
  TimePoint created_at;
  std::optional<TimePoint> revoked_at;

  bool operator==(const ApiKeyRecord&) const = default;
};

// provisioned -> connected <-> dropped -> ended; provisioned -> ended. Every state but `ended`
// holds one of the account's concurrency slots.
enum class SessionState {
  provisioned,  // minted, never connected yet
  connected,    // a client holds the signaling connection
  dropped,      // the client vanished uncleanly; resumable with the same token until it expires
  ended,        // final; the slot is free
};
std::string_view to_string(SessionState state);
bool parse_session_state(std::string_view text, SessionState& out);

enum class EndCause {
  none,                   // not ended
  client_disconnect,      // clean disconnect
  token_expired,          // dropped, and the token expired before a resume
  idle_timeout,           // never connected within the idle timeout
  operator_ended,         // DELETE /v1/sessions/{id}
  streamer_disconnected,  // its streamer died or left
  duration_limit,         // a per-connection duration cap fired
};
std::string_view to_string(EndCause cause);
bool parse_end_cause(std::string_view text, EndCause& out);

using Metadata = std::map<std::string, std::string>;
using Capabilities = std::map<std::string, bool>;  // e.g. {"image_to_video": true}

struct SessionRecord {
  std::string id;
  std::string account;
  std::string streamer_id;
  std::string model;  // the model its streamer serves ("procedural": the built-in world)
  SessionState state = SessionState::provisioned;
  EndCause end_cause = EndCause::none;
  TimePoint created_at;
  std::optional<TimePoint> connected_at;  // first connect
  std::optional<TimePoint> ended_at;
  // The session's one credential: its token id and expiry (unset until issued).
  std::string token_jti;
  std::optional<TimePoint> token_expires_at;
  // When the sweeper ends this session unless something happens first: created + idle timeout
  // while provisioned, the token's expiry while dropped, none while connected or ended.
  std::optional<TimePoint> deadline_at;
  Capabilities capabilities;
  Metadata metadata;

  bool live() const { return state != SessionState::ended; }
  bool operator==(const SessionRecord&) const = default;
};

}  // namespace ithaca::session
