#include "ithaca/model/worker_protocol.hpp"

namespace ithaca::model {
namespace {

uint32_t read_le(std::string_view b, std::size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

void write_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool known(uint16_t t) {
  return message_name(static_cast<MessageType>(t)) != "unknown";
}

}  // namespace

std::string_view message_name(MessageType type) {
  switch (type) {
    case MessageType::hello:
      return "hello";
    case MessageType::ready:
      return "ready";
    case MessageType::started:
      return "started";
    case MessageType::interacted:
      return "interacted";
    case MessageType::frame:
      return "frame";
    case MessageType::failed:
      return "failed";
    case MessageType::log:
      return "log";
    case MessageType::heartbeat:
      return "heartbeat";
    case MessageType::ended:
      return "ended";
    case MessageType::ring:
      return "ring";
    case MessageType::start:
      return "start";
    case MessageType::interact:
      return "interact";
    case MessageType::end:
      return "end";
    case MessageType::step:
      return "step";
    case MessageType::release:
      return "release";
    case MessageType::shutdown:
      return "shutdown";
  }
  return "unknown";
}

Result<std::string> encode_message(MessageType type, const nlohmann::json& payload) {
  const std::string body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() + kHeaderBytes > kMaxPacketBytes) {
    return make_error(ErrorCode::invalid_request,
                      std::string(message_name(type)) + " message over 64 KiB");
  }
  std::string packet;
  packet.reserve(kHeaderBytes + body.size());
  write_le(packet, static_cast<uint16_t>(type), 2);
  write_le(packet, 0, 2);
  write_le(packet, static_cast<uint32_t>(body.size()), 4);
  packet += body;
  return packet;
}

Result<Message> decode_message(std::string_view packet) {
  if (packet.size() < kHeaderBytes) {
    return make_error(ErrorCode::invalid_request, "packet shorter than its 8-byte header");
  }
  const uint16_t type = static_cast<uint16_t>(read_le(packet, 0, 2));
  if (read_le(packet, 2, 2) != 0) return make_error(ErrorCode::invalid_request, "flags not 0");
  if (read_le(packet, 4, 4) != packet.size() - kHeaderBytes) {
    return make_error(ErrorCode::invalid_request, "payload length does not match the packet");
  }
  if (!known(type)) {
    return make_error(ErrorCode::invalid_request, "unknown message type " + std::to_string(type));
  }
  Message m;
  m.type = static_cast<MessageType>(type);
  m.payload = nlohmann::json::parse(packet.substr(kHeaderBytes), nullptr, false);
  if (!m.payload.is_object()) {
    return make_error(ErrorCode::invalid_request,
                      std::string(message_name(m.type)) + " payload is not a JSON object");
  }
  return m;
}

}  // namespace ithaca::model
