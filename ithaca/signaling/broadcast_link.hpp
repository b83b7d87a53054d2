// BroadcastLink: where the hub hands a streamer's broadcast messages (docs/streaming.md
// section 2), so that signaling knows nothing of WHEP or HLS (ithaca/broadcast does).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ithaca::signaling {

class BroadcastLink {
 public:
  virtual ~BroadcastLink() = default;
  // A broadcast message from a registered streamer. broadcast_open arrives only for a session
  // whose client is connected through that streamer. Called on a network thread: never block.
  virtual void on_streamer_message(const std::string& streamer_id,
                                   const nlohmann::json& message) = 0;
  // The streamer's link is gone: its broadcasts are over.
  virtual void on_streamer_lost(const std::string& streamer_id) = 0;
};

}  // namespace ithaca::signaling
