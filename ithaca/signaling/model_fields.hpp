// The model fields of signaling (docs/streaming.md sections 2 and 3): register.model of the
// streamer link, and the `params` a client's interactive_stream_start may carry. Pure functions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "ithaca/session/streamer_registry.hpp"

namespace ithaca::signaling {

// The declared params schema and a stream's params: compact JSON of at most this many bytes.
inline constexpr size_t kMaxParamsBytes = 16 * 1024;

// register.model: {"name": 1..64 of [A-Za-z0-9._-], "version"?: string <= 64,
// "formats"?: {"landscape"|"portrait": {"width","height","fps"}}, "params"?: object <= 16 KiB,
// "max_sessions"?: 1..64, "image_to_video"?: bool}. Empty when valid, else the problem.
std::string parse_model(const nlohmann::json& model, session::ModelInfo& out);

// A stream's "params": empty when valid (a JSON object of at most kMaxParamsBytes compact),
// else the problem.
std::string check_stream_params(const nlohmann::json& params);

}  // namespace ithaca::signaling
