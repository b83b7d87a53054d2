// The interactive stream protocol of docs/streaming.md section 3, as values: commands a client
// sends on the clientToStreamer data channel (or interactive_stream_start over signaling), and
// the events the streamer answers with on streamerToClient. Parsing is strict about types and
// sizes and lenient about unknown fields (Odyssey's SDKs and ours may add some).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ithaca/base/error.hpp"

namespace ithaca::streamer {

// Odyssey's limit for a start image, before base64 (docs/odyssey-compatibility.md section 8).
inline constexpr std::size_t kMaxImageBytes = 25 * 1024 * 1024;
// A data URL of kMaxImageBytes: base64 grows by 4/3, plus the "data:image/...;base64," head.
inline constexpr std::size_t kMaxImageDataUrlBytes = kMaxImageBytes / 3 * 4 + 4 + 256;
// The largest `params` object of a start (compact JSON); larger ones are invalid_command.
inline constexpr std::size_t kMaxParamsBytes = 16384;
// The longest request_id echoed back; longer ones are invalid_command.
inline constexpr std::size_t kMaxRequestIdBytes = 128;

struct StartCommand {
  std::string prompt;
  bool portrait = false;
  std::optional<std::string> image_data_url;  // "data:image/png;base64,..." when given
  bool broadcast = false;
  // Generation parameters for the model (checked by the source against what it declares).
  nlohmann::json params = nlohmann::json::object();
};
struct UpdateCommand {
  std::string prompt;
};
struct EndCommand {};

struct Command {
  std::optional<std::string> request_id;
  std::variant<StartCommand, UpdateCommand, EndCommand> body;
};

// invalid_command (with a message naming the field) for anything that is not a command.
Result<Command> parse_command(const nlohmann::json& message);
Result<Command> parse_command_text(std::string_view text);
// The request_id of a message that failed to parse, when it has a usable one, so even the
// error answer can be matched to its request.
std::optional<std::string> request_id_of(std::string_view text);
std::optional<std::string> request_id_in(const nlohmann::json& message);

// Events. Each echoes request_id when the command carried one.
nlohmann::json stream_started_event(const std::string& stream_id, const std::string& applied_prompt,
                                    const std::optional<std::string>& request_id);
nlohmann::json update_acknowledged_event(const std::string& prompt,
                                         const std::optional<std::string>& request_id);
nlohmann::json stream_ended_event(const std::string& stream_id,
                                  const std::optional<std::string>& request_id);
// interactive_stream_error with reason = the catalog code, message = the error's detail or the
// catalog message.
nlohmann::json stream_error_event(const Error& error, const std::optional<std::string>& request_id);

}  // namespace ithaca::streamer
