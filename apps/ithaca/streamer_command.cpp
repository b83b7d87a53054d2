#include "streamer_command.hpp"

#include <unistd.h>

#include <fstream>
#include <iostream>

#include "ithaca/base/log.hpp"
#include "server.hpp"

namespace ithaca::app {
namespace {

// http(s):// is accepted too, since that is how operators write a server's address.
std::string ws_url(std::string url) {
  if (url.rfind("http://", 0) == 0) return "ws://" + url.substr(7);
  return url;
}

Result<std::string> read_secret(const StreamerFlags& flags) {
  if (!flags.secret_file.empty()) {
    std::ifstream in(flags.secret_file);
    std::string secret;
    if (!in || !std::getline(in, secret) || secret.empty()) {
      return make_error(ErrorCode::config_invalid,
                        "cannot read a secret from " + flags.secret_file);
    }
    return secret;
  }
  if (const char* env = std::getenv("ITHACA_STREAMER_SECRET"); env && *env) return std::string(env);
  return make_error(ErrorCode::config_invalid,
                    "the streamer needs --secret-file or ITHACA_STREAMER_SECRET (the server's "
                    "streaming.streamer_secret, or its data_dir/streamer.secret)");
}

std::string default_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string("streamer-") + host;
}

}  // namespace

int run_streamer(const StreamerFlags& flags) {
  set_log_level(flags.log_level);
  block_stop_signals();
  auto secret = read_secret(flags);
  if (!secret) {
    std::cerr << "ithaca: " << secret.error().to_string() << '\n';
    return 2;
  }
  streamer::StreamerOptions options;
  options.server_url = ws_url(flags.server_url);
  options.secret = *secret;
  options.streamer_id = flags.id.empty() ? default_id() : flags.id;
  options.capacity = flags.capacity;
  options.peer.encoder.name = flags.encoder;
  options.peer.encoder.bitrate_kbps = flags.bitrate_kbps;
  options.peer.stun_server = flags.stun_server;
  options.peer.turn_server = flags.turn_server;
  options.peer.spectators_direct = flags.spectator_send == "direct";
  options.dtls_certificate_lifetime = std::chrono::hours(24) * flags.dtls_certificate_days;
  if (!flags.model_command.empty()) {
    model::PoolOptions pool;
    pool.command = flags.model_command;
    pool.workers = flags.model_workers;
    pool.gpus = flags.model_gpus;
    pool.timeouts.step_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(flags.model_step_timeout_s * 1000));
    pool.timeouts.load_timeout = std::chrono::seconds(flags.model_load_timeout_s);
    options.model = std::move(pool);
  }
  auto s = streamer::Streamer::create(std::move(options));
  if (!s) {
    std::cerr << "ithaca: " << s.error().to_string() << '\n';
    return 2;
  }
  (*s)->start();
  std::cout << "Streamer " << (flags.id.empty() ? default_id() : flags.id) << " serving "
            << flags.server_url << std::endl;
  const int sig = wait_for_stop_signal();
  logger("streamer")->info("stopping signal={}", sig);
  s->reset();
  return 0;
}

Result<std::unique_ptr<streamer::Streamer>> start_local_streamer(const config::Config& config,
                                                                 uint16_t server_port,
                                                                 const std::string& secret) {
  streamer::StreamerOptions options;
  // The server's own listening address; a wildcard one is reached on loopback.
  std::string host = config::parse_host_port(config.listen)->host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  options.server_url = "ws://" + host + ":" + std::to_string(server_port);
  options.secret = secret;
  options.streamer_id = "local";
  options.capacity = static_cast<int>(config.local_capacity);
  options.peer.encoder.name = config.local_encoder;
  auto s = streamer::Streamer::create(std::move(options));
  if (!s) return s;
  (*s)->start();
  return s;
}

}  // namespace ithaca::app
