// The model worker protocol, version 1 (docs/model-workers.md section 3): one message per
// SOCK_SEQPACKET packet, an 8-byte little-endian header (type u16, flags u16, payload length
// u32) and a JSON object. This file only turns packets into messages and back; the socket and
// the file descriptors that ride along are worker_channel's business.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ithaca/base/error.hpp"

namespace ithaca::model {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::size_t kHeaderBytes = 8;
inline constexpr std::size_t kMaxPacketBytes = 65536;

enum class MessageType : uint16_t {
  // worker -> streamer
  hello = 1,
  ready = 2,
  started = 3,
  interacted = 4,
  frame = 5,
  failed = 6,
  log = 7,
  heartbeat = 8,
  ended = 9,
  // streamer -> worker
  ring = 101,
  start = 102,
  interact = 103,
  end = 104,
  step = 105,
  release = 106,
  shutdown = 107,
};

struct Message {
  MessageType type = MessageType::heartbeat;
  nlohmann::json payload = nlohmann::json::object();
};

// The message's name in the doc ("hello", "frame", ...); "unknown" for a value not in the table.
std::string_view message_name(MessageType type);
// The whole packet: header and compact JSON. invalid_request when it would exceed a packet.
Result<std::string> encode_message(MessageType type, const nlohmann::json& payload);
// invalid_request naming what is wrong: short, length mismatch, flags set, unknown type, a
// payload that is not a JSON object.
Result<Message> decode_message(std::string_view packet);

}  // namespace ithaca::model
