#include "ithaca/streamer/direct_route.hpp"

#include <agent.h>
#include <fcntl.h>

namespace ithaca::streamer {
namespace {

// GStreamer's srtp element enums (gst-plugins-bad ext/srtp/gstsrtp.h).
constexpr int kCipherAes128Icm = 1;
constexpr int kAuthHmacSha1_32 = 1;
constexpr int kAuthHmacSha1_80 = 2;

struct IceComponent {
  GObject* agent = nullptr;  // a reference
  guint stream = 0, component = 0;
};

IceComponent ice_component_of(GstElement* webrtcbin) {
  IceComponent ice;
  GstElement* sink = find_by_factory(webrtcbin, "nicesink");  // max-bundle: one transport
  if (!sink) return ice;
  g_object_get(sink, "agent", &ice.agent, "stream", &ice.stream, "component", &ice.component,
               nullptr);
  gst_object_unref(sink);
  return ice;
}

std::string address_text(const NiceAddress& address) {
  char text[NICE_ADDRESS_STRING_LEN] = {0};
  nice_address_to_string(&address, text);
  return std::string(text) + ":" + std::to_string(nice_address_get_port(&address));
}

const char* type_name(NiceCandidateType type) {
  switch (type) {
    case NICE_CANDIDATE_TYPE_HOST:
      return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED:
      return "relay";
  }
  return "?";
}

Status read_srtp_keys(GstElement* webrtcbin, DirectRoute& route) {
  GstElement* srtpenc = find_by_factory(webrtcbin, "srtpenc");
  if (!srtpenc) return make_error(ErrorCode::streamer_failed, "no SRTP encoder");
  GstBuffer* key = nullptr;
  int cipher = 0, auth = 0;
  g_object_get(srtpenc, "key", &key, "rtp-cipher", &cipher, "rtp-auth", &auth, nullptr);
  gst_object_unref(srtpenc);
  if (key) {
    route.srtp_master.resize(gst_buffer_get_size(key));
    gst_buffer_extract(key, 0, route.srtp_master.data(), route.srtp_master.size());
    gst_buffer_unref(key);
  }
  if (route.srtp_master.size() !=
      SrtpProtector::kMasterKeyBytes + SrtpProtector::kMasterSaltBytes) {
    return make_error(ErrorCode::streamer_failed, "DTLS has not exported SRTP keys yet");
  }
  if (cipher != kCipherAes128Icm || (auth != kAuthHmacSha1_80 && auth != kAuthHmacSha1_32)) {
    return make_error(ErrorCode::streamer_failed, "SRTP profile not sent directly (cipher " +
                                                      std::to_string(cipher) + ", auth " +
                                                      std::to_string(auth) + ")");
  }
  route.profile = auth == kAuthHmacSha1_80 ? SrtpProfile::aes128_cm_hmac_sha1_80
                                           : SrtpProfile::aes128_cm_hmac_sha1_32;
  return ok_status();
}

}  // namespace

GObject* ice_agent_of(GstElement* webrtcbin) {
  return ice_component_of(webrtcbin).agent;
}

Result<DirectRoute> read_direct_route(GstElement* webrtcbin) {
  IceComponent ice = ice_component_of(webrtcbin);
  if (!ice.agent) return make_error(ErrorCode::streamer_failed, "no ICE transport");
  std::unique_ptr<GObject, GObjectUnref> agent(ice.agent);
  auto* nice = NICE_AGENT(agent.get());

  NiceCandidate *local = nullptr, *remote = nullptr;
  if (!nice_agent_get_selected_pair(nice, ice.stream, ice.component, &local, &remote)) {
    return make_error(ErrorCode::streamer_failed, "ICE has no selected pair");
  }
  if (local->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
      local->type == NICE_CANDIDATE_TYPE_RELAYED) {
    return make_error(ErrorCode::streamer_failed,
                      std::string("the selected pair is ") + type_name(local->type) +
                          (local->transport == NICE_CANDIDATE_TRANSPORT_UDP ? " UDP" : " TCP"));
  }
  DirectRoute route;
  route.socket.reset(nice_agent_get_selected_socket(nice, ice.stream, ice.component));
  if (!route.socket) return make_error(ErrorCode::streamer_failed, "ICE gave no socket");
  nice_address_copy_to_sockaddr(&remote->addr, reinterpret_cast<sockaddr*>(&route.remote));
  route.remote_size =
      route.remote.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  route.description = std::string(type_name(local->type)) + " " + address_text(local->addr) +
                      " -> " + type_name(remote->type) + " " + address_text(remote->addr);
  if (auto s = read_srtp_keys(webrtcbin, route); !s) return s.error();
  return route;
}

std::optional<SelectedSocket> duplicate_selected_socket(GstElement* webrtcbin) {
  IceComponent ice = ice_component_of(webrtcbin);
  if (!ice.agent) return std::nullopt;
  std::unique_ptr<GObject, GObjectUnref> agent(ice.agent);
  auto* nice = NICE_AGENT(agent.get());
  NiceCandidate *local = nullptr, *remote = nullptr;
  if (!nice_agent_get_selected_pair(nice, ice.stream, ice.component, &local, &remote) ||
      local->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
    return std::nullopt;
  }
  std::unique_ptr<GSocket, GObjectUnref> socket(
      nice_agent_get_selected_socket(nice, ice.stream, ice.component));
  gchar *ufrag = nullptr, *password = nullptr;
  if (!socket || !nice_agent_get_local_credentials(nice, ice.stream, &ufrag, &password)) {
    return std::nullopt;
  }
  SelectedSocket out{fcntl(g_socket_get_fd(socket.get()), F_DUPFD_CLOEXEC, 0), password};
  g_free(ufrag);
  g_free(password);
  if (out.fd < 0) return std::nullopt;
  return out;
}

}  // namespace ithaca::streamer
