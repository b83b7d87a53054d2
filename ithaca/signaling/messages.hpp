// The JSON messages of signaling (docs/streaming.md sections 1 and 2): what a client may send
// and how the server classifies it, what a streamer may send and how it is validated, and the
// builders for every message the server sends. Pure functions, no I/O: unit-tested alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ithaca/base/error.hpp"
#include "ithaca/session/streamer_registry.hpp"

namespace ithaca::signaling {

// Every client message but interactive_stream_start is limited to this (an SDP answer is a
// few KiB); the socket itself accepts up to kMaxMessageBytes, for a start image.
inline constexpr size_t kMaxSmallMessageBytes = 64 * 1024;
// A 25 MB image as a base64 data URL is ~33.4 MB; 36 MiB leaves room for the rest.
inline constexpr size_t kMaxMessageBytes = 36 * 1024 * 1024;

// ---- client -> server ----

enum class ClientMessageKind {
  keepalive,             // consumed: only resets the idle timer
  client_disconnecting,  // remembered: with close 1000 it makes the ending clean
  relay,                 // answer, ice_candidate, interactive_stream_start: to the streamer
  invalid,               // answered with an invalid_command error, otherwise ignored
};

struct ClientMessage {
  ClientMessageKind kind = ClientMessageKind::invalid;
  std::string type;     // the message's "type" when it had one
  std::string problem;  // why it is invalid, for the error message (never echoes content)
};

// Classifies one text message. Over `small_limit` bytes only interactive_stream_start is
// accepted; such a message is checked without building a DOM of it.
ClientMessage classify_client_message(std::string_view text,
                                      size_t small_limit = kMaxSmallMessageBytes);

// ---- server -> client ----

// {"type":"error","reason":<code>,"message","retryable","action"?}; the message is the error's
// detail, else the catalog's.
std::string error_message(const Error& error);
inline std::string error_message(ErrorCode code) {
  return error_message(make_error(code));
}

// ---- streamer -> server ----

struct RegisterMessage {
  session::StreamerInfo info;
  std::string version;
};

// broadcast: a message about a session's broadcast (docs/streaming.md section 2), handed whole
// to the BroadcastLink: broadcast_open, broadcast_close, viewer_answer, viewer_failed,
// viewer_closed, hls_segment.
// capacity and session_end: a model streamer's places and health, and a session it ends.
enum class StreamerMessageKind {
  register_,
  signal,
  session_failed,
  broadcast,
  capacity,
  session_end,
  invalid
};

struct StreamerMessage {
  StreamerMessageKind kind = StreamerMessageKind::invalid;
  std::string type;
  std::string problem;                            // why it is invalid
  RegisterMessage registration;                   // register
  std::string session_id;                         // signal, session_failed, session_end
  int capacity = 0;                               // capacity
  bool degraded = false;                          // capacity
  std::string message;                            // signal: the inner object, serialized
  ErrorCode reason = ErrorCode::streamer_failed;  // session_failed
  std::string reason_message;                     // session_failed: its "message", may be empty
  nlohmann::json body;                            // broadcast: the whole message
};

bool is_broadcast_message_type(std::string_view type);

// streamer_id: 1..64 of [A-Za-z0-9._-]; capacity 0..1024; capabilities an object of bools
// (absent: none); version a string of at most 64 bytes (optional); model (optional, absent: the
// procedural world) as parse_model() checks it. capacity: capacity 0..1024, degraded a bool
// (optional). session_end: a non-empty session_id and reason "idle_timeout". A session_failed
// reason that is not a catalog code becomes streamer_failed. A broadcast message needs string
// session_id and stream_id; its other fields are the BroadcastLink's to check.
StreamerMessage parse_streamer_message(std::string_view text);

// ---- server -> streamer ----

std::string registered_message(const std::string& streamer_id, int64_t max_stream_seconds,
                               int64_t idle_timeout_seconds = 0);
std::string session_open_message(const std::string& session_id, bool resumed);
std::string session_close_message(const std::string& session_id, std::string_view reason);
// {"type":"signal","session_id","message":<message>}; `message_json` must be a JSON object
// (a client message that classify_client_message accepted): it is spliced in, not re-parsed.
std::string signal_message(const std::string& session_id, std::string_view message_json);

bool valid_streamer_id(std::string_view id);

}  // namespace ithaca::signaling
