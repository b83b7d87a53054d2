#include "ithaca/streamer/stream_commands.hpp"

#include "ithaca/media/frame_source.hpp"

namespace ithaca::streamer {
namespace {

using nlohmann::json;

Error invalid(const std::string& why) {
  return make_error(ErrorCode::invalid_command, why);
}

// A prompt field: absent is "", otherwise a string of at most kMaxPromptBytes.
Result<std::string> prompt_field(const json& m, bool required) {
  const auto it = m.find("prompt");
  if (it == m.end() || it->is_null()) {
    if (required) return invalid("prompt is required");
    return std::string();
  }
  if (!it->is_string()) return invalid("prompt must be a string");
  std::string prompt = it->get<std::string>();
  if (prompt.size() > media::kMaxPromptBytes) {
    return invalid("prompt is over " + std::to_string(media::kMaxPromptBytes) + " bytes");
  }
  if (required && prompt.empty()) return invalid("prompt must not be empty");
  return prompt;
}

Result<bool> bool_field(const json& m, const char* name) {
  const auto it = m.find(name);
  if (it == m.end() || it->is_null()) return false;
  if (!it->is_boolean()) return invalid(std::string(name) + " must be true or false");
  return it->get<bool>();
}

json with_request_id(json event, const std::optional<std::string>& request_id) {
  if (request_id) event["request_id"] = *request_id;
  return event;
}

}  // namespace

Result<Command> parse_command(const json& m) {
  if (!m.is_object()) return invalid("a command is a JSON object");
  const auto type = m.find("type");
  if (type == m.end() || !type->is_string()) return invalid("type must be a string");
  Command command;
  if (const auto id = m.find("request_id"); id != m.end() && !id->is_null()) {
    if (!id->is_string() || id->get_ref<const std::string&>().size() > kMaxRequestIdBytes) {
      return invalid("request_id must be a string of at most 128 bytes");
    }
    command.request_id = id->get<std::string>();
  }
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "interactive_stream_start") {
    StartCommand start;
    auto prompt = prompt_field(m, false);
    if (!prompt) return std::move(prompt).error();
    start.prompt = std::move(*prompt);
    auto portrait = bool_field(m, "portrait");
    if (!portrait) return std::move(portrait).error();
    start.portrait = *portrait;
    auto broadcast = bool_field(m, "broadcast");
    if (!broadcast) return std::move(broadcast).error();
    start.broadcast = *broadcast;
    if (const auto params = m.find("params"); params != m.end() && !params->is_null()) {
      if (!params->is_object() || params->dump().size() > kMaxParamsBytes) {
        return invalid("params must be a JSON object of at most 16384 bytes");
      }
      start.params = *params;
    }
    if (const auto image = m.find("input_image_base64"); image != m.end() && !image->is_null()) {
      if (!image->is_string()) return invalid("input_image_base64 must be a data URL string");
      if (image->get_ref<const std::string&>().size() > kMaxImageDataUrlBytes) {
        return make_error(ErrorCode::invalid_image, "the image is over 25 MB");
      }
      start.image_data_url = image->get<std::string>();
    }
    command.body = std::move(start);
  } else if (t == "update") {
    auto prompt = prompt_field(m, true);
    if (!prompt) return std::move(prompt).error();
    command.body = UpdateCommand{std::move(*prompt)};
  } else if (t == "interactive_stream_end") {
    command.body = EndCommand{};
  } else {
    return invalid("unknown command type '" + t.substr(0, 64) + "'");
  }
  return command;
}

Result<Command> parse_command_text(std::string_view text) {
  json m = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded()) return invalid("the message is not valid JSON");
  return parse_command(m);
}

std::optional<std::string> request_id_of(std::string_view text) {
  return request_id_in(json::parse(text, nullptr, false));
}

std::optional<std::string> request_id_in(const json& m) {
  if (!m.is_object()) return std::nullopt;
  const auto id = m.find("request_id");
  if (id == m.end() || !id->is_string() ||
      id->get_ref<const std::string&>().size() > kMaxRequestIdBytes) {
    return std::nullopt;
  }
  return id->get<std::string>();
}

json stream_started_event(const std::string& stream_id, const std::string& applied_prompt,
                          const std::optional<std::string>& request_id) {
  return with_request_id(
      {{"type", "stream_started"}, {"stream_id", stream_id}, {"applied_prompt", applied_prompt}},
      request_id);
}

json update_acknowledged_event(const std::string& prompt,
                               const std::optional<std::string>& request_id) {
  return with_request_id({{"type", "update_acknowledged"}, {"prompt", prompt}}, request_id);
}

json stream_ended_event(const std::string& stream_id,
                        const std::optional<std::string>& request_id) {
  return with_request_id({{"type", "stream_ended"}, {"stream_id", stream_id}}, request_id);
}

json stream_error_event(const Error& error, const std::optional<std::string>& request_id) {
  return with_request_id(
      {{"type", "interactive_stream_error"},
       {"reason", std::string(error.name())},
       {"message", error.detail.empty() ? std::string(info(error.code).message) : error.detail}},
      request_id);
}

}  // namespace ithaca::streamer
