// WebRtcTestClient: a headless client of the streaming protocol for C++ tests, built on the same
// GStreamer webrtcbin the streamer uses, so the whole path (signaling, ICE, DTLS, H.264, data
// channels, frame markers) is tested without a browser. It connects with client credentials the
// way the Odyssey SDKs do, answers the streamer's offer, decodes the video (openh264dec) and
// reads each frame's marker, and sends commands on clientToStreamer.
//
// Thread-safe: GStreamer and WebSocket callbacks record into one mutex-guarded state; tests
// wait on it with the wait_* helpers (5 s default).
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ithaca/base/error.hpp"

namespace ithaca::testing {

class WebRtcTestClient {
 public:
  WebRtcTestClient();
  ~WebRtcTestClient();  // closes uncleanly when still connected (a crash)

  // Opens signaling with credentials JSON (signaling_url, session_id, session_token).
  void connect(const nlohmann::json& credentials);
  // The client's clean end: client_disconnecting, then close 1000.
  void disconnect();

  // Sends a command on clientToStreamer (once it is open) or, with `over_signaling`, as a
  // signaling message.
  void send_command(const nlohmann::json& command, bool over_signaling = false);

  bool wait_frames(int count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool wait_marker(uint16_t sequence, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next event on streamerToClient, in order.
  std::optional<nlohmann::json> next_event(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The signaling error message (type "error") once one arrived.
  std::optional<nlohmann::json> wait_signaling_error(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::optional<int> wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  int frames() const;
  std::optional<uint16_t> last_marker() const;
  // Size of the last decoded frame.
  std::pair<int, int> frame_size() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ithaca::testing
