// DirectRoute: what it takes to send a connected spectator its media without webrtcbin's
// send path (docs/streaming.md section 5.1), read out of that spectator's webrtcbin.
//
// webrtcbin keeps doing what it is good at: ICE (libnice) and the DTLS handshake, and
// receiving the spectator's RTCP. Once they are up, the fan-out needs only the socket ICE
// selected, the address it talks to, and the SRTP keys DTLS exported; it then encrypts and
// sends each shared RTP packet itself, so a spectator costs no GStreamer buffers or threads.
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/streamer/gst_support.hpp"
#include "ithaca/streamer/srtp_protector.hpp"

namespace ithaca::streamer {

using GSocketPtr = std::unique_ptr<GSocket, GObjectUnref>;

struct DirectRoute {
  GSocketPtr socket;  // libnice's socket of the selected pair (it stays libnice's too)
  sockaddr_storage remote{};
  socklen_t remote_size = 0;
  std::vector<uint8_t> srtp_master;  // master key then master salt, 30 bytes
  SrtpProfile profile = SrtpProfile::aes128_cm_hmac_sha1_80;
  int payload_type = 96;    // the spectator's, written into each packet
  std::string description;  // "host 127.0.0.1:40001 -> 127.0.0.1:50002", for logs
};

// From the webrtcbin of a connected spectator. streamer_failed saying why when the route cannot
// be taken over: no selected pair yet, a pair over TCP or through a TURN relay (libnice frames
// those itself), no SRTP keys yet, or an SRTP profile other than AES-CM with HMAC-SHA1.
Result<DirectRoute> read_direct_route(GstElement* webrtcbin);

// The libnice agent of the webrtcbin's (bundled) transport, to watch its selected pair; a
// reference, or null when there is none.
GObject* ice_agent_of(GstElement* webrtcbin);

// The socket ICE selected (a duplicate, the caller's to close) and the local ICE password, for
// IceFarewell; nullopt when ICE selected no UDP pair.
struct SelectedSocket {
  int fd = -1;
  std::string password;
};
std::optional<SelectedSocket> duplicate_selected_socket(GstElement* webrtcbin);

}  // namespace ithaca::streamer
