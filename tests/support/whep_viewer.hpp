// WhepViewer: a headless WHEP spectator for C++ tests and benchmarks, on GStreamer's webrtcbin. It
// does what a browser's recvonly spectator does (docs/odyssey-compatibility.md section 9): a
// recvonly offer with a video and an audio transceiver, ICE gathered before the POST (non-trickle),
// the answer from the POST's body, DELETE on the Location to leave.
//
// With `decode` it decodes the H.264 (openh264dec) and reads each frame's marker, like
// WebRtcTestClient; without, it only counts RTP packets (a receiver that costs the machine as
// little as possible, for the fan-out benchmark). Thread-safe; waits default to 10 s.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/net/http.hpp"

namespace ithaca::testing {

class WhepViewer {
 public:
  explicit WhepViewer(bool decode = true);
  ~WhepViewer();  // tears down without a DELETE

  // Offers to `webrtc_url`/whep with the token in ?token=. The answered response (any status)
  // or a transport failure.
  Result<net::HttpResponse> connect(const std::string& webrtc_url, const std::string& token);
  // DELETE on the Location (with the token it carries); the status.
  Result<int> leave();

  bool wait_frames(int count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool wait_marker(uint16_t sequence, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the server closed the media (webrtcbin saw the connection fail or end).
  bool wait_media_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  int frames() const;  // decoded frames (decode) or RTP packets (no decode)
  std::optional<uint16_t> last_marker() const;
  // From the POST to the first decoded frame (or first packet without decode).
  std::optional<std::chrono::microseconds> time_to_first_frame() const;
  const std::string& location() const;
  // "answer A ms, connected C ms, first frame F ms", each from the POST.
  std::string timeline() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ithaca::testing
