// `ithaca streamer`: a streamer process that connects out to a server (docs/streaming.md), and
// the in-process streamer `ithaca server --dev` starts so `make run` is one command.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/config/config.hpp"
#include "ithaca/streamer/streamer.hpp"

namespace ithaca::app {

struct StreamerFlags {
  std::string server_url;   // ws://host:port or http://host:port of the server
  std::string secret_file;  // holds the server's streamer secret; else ITHACA_STREAMER_SECRET
  std::string id;           // empty: streamer-<hostname>
  int capacity = 4;
  std::string encoder = "x264";
  int bitrate_kbps = 2000;
  std::string stun_server;  // stun://host:port
  std::string turn_server;  // turn://user:pass@host:port
  std::string log_level = "info";
  std::string spectator_send = "direct";  // or "webrtcbin" (PeerOptions::spectators_direct)
  int dtls_certificate_days = 30;         // StreamerOptions::dtls_certificate_lifetime
  std::string model_command;              // --model: empty serves the procedural world
  int model_workers = 1;
  std::vector<std::string> model_gpus;
  double model_step_timeout_s = 10;
  int model_load_timeout_s = 600;
};

// Runs until SIGINT or SIGTERM; the exit code (2 for bad flags or a missing element).
int run_streamer(const StreamerFlags& flags);

// The --dev streamer: runs inside the server process and connects to it over loopback.
Result<std::unique_ptr<streamer::Streamer>> start_local_streamer(const config::Config& config,
                                                                 uint16_t server_port,
                                                                 const std::string& secret);

}  // namespace ithaca::app
