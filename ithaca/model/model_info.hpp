// What a worker's hello says about its model (docs/model-workers.md section 3.2), checked.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/media/frame_source.hpp"

namespace ithaca::model {

struct ModelInfo {
  std::string name;
  std::string version;
  int max_sessions = 1;
  bool image_to_video = false;
  media::StreamFormat landscape;
  media::StreamFormat portrait;
  nlohmann::json params = nlohmann::json::object();  // key -> {"type", "minimum"?, ...}

  const media::StreamFormat& format(bool is_portrait) const {
    return is_portrait ? portrait : landscape;
  }
  // The largest frame of either orientation, RGB: the size of one ring slot.
  std::size_t max_frame_bytes() const;
  // The `model` object of the streamer's register message (docs/streaming.md section 2).
  nlohmann::json to_register_json() const;
};

// invalid_request naming the field when the hello is not one Ithaca can serve.
Result<ModelInfo> parse_hello(const nlohmann::json& hello);
// invalid_params naming the key when `params` (an object) does not fit the declared schema:
// unknown keys, wrong types, values out of range, strings too long.
Status check_params(const nlohmann::json& schema, const nlohmann::json& params);

}  // namespace ithaca::model
