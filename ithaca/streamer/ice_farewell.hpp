// Telling a spectator's browser at once that its stream is over, through ICE.
//
// Chromium reports an ended WebRTC connection (connectionState "failed") only when ICE fails:
// the DTLS close_notify a viewer gets when the broadcast ends marks only its DTLS transport
// closed, and ICE consent then takes ~18 s to lapse. A STUN error response to a connectivity
// check is different: Chromium drops that candidate pair at once (403 is not one of the codes
// it retries), and with its only pair gone ICE fails. Chromium checks a live pair about every
// 2.5 s, so the browser, and the official SDK's onDisconnect, learn of the end within ~3 s.
//
// After a viewer's goodbye, IceFarewell keeps a duplicate of its ICE socket open for a while
// and answers every STUN Binding request arriving there with 403 (Forbidden), signed with the
// viewer's ICE password as RFC 8445 requires, with a FINGERPRINT (RFC 8489). Nothing else is
// sent, and only in answer to the browser's own requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ithaca::streamer {

// The Binding error response (class 4xx/5xx `code`) to `request`, a STUN Binding request,
// signed with `password`; nullopt when `request` is not a well-formed Binding request.
std::optional<std::vector<uint8_t>> stun_binding_error(std::string_view request,
                                                       const std::string& password, int code);

// The process's one responder: a thread that starts with the first socket.
class IceFarewell {
 public:
  static constexpr std::chrono::milliseconds kHold{8000};  // about three of Chromium's checks

  // Takes `fd` (a UDP socket, owned from now on) and answers the checks arriving there for
  // kHold, then closes it.
  static void add(int fd, std::string password);
  // How many Binding requests it answered so far, for tests.
  static uint64_t answered();

 private:
  struct Impl;
  static Impl& impl();
};

}  // namespace ithaca::streamer
