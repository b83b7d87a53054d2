// Ithaca's configuration, and how it is assembled: built-in defaults, then one TOML file, then
// ITHACA_<SECTION>_<KEY> environment variables, then command-line flags (applied by the app).
// Unknown keys are errors naming the key, in the file and in the environment of a known section,
// so a typo never silently falls back to a default. config/ithaca.sample.toml documents every
// key; a test keeps the two in step.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"

namespace ithaca::config {

struct Config {
  // [server]
  std::string listen = "127.0.0.1:8080";
  std::string public_url;  // how clients reach this node; empty: http://<listen>
  std::string data_dir = "./data";
  std::string store;  // "sqlite:PATH" (default sqlite:ithaca.db in data_dir), "memory:", "redis://"
  int64_t io_threads = 2;       // network threads; nothing blocks on them
  int64_t worker_threads = 16;  // for API routes that wait on the store
  int64_t max_body_bytes = 65536;
  bool dev = false;
  std::string log_level = "info";
  // [tokens]
  int64_t ttl_seconds = 600;
  int64_t leeway_seconds = 5;
  std::string audience = "ithaca";
  std::string signing_key;  // "KID:SECRET_BASE64URL"; empty: data_dir/signing.key
  std::vector<std::string> verification_keys;  // older "KID:SECRET" still accepted
  // [sessions]
  int64_t idle_timeout_seconds = 900;
  int64_t sweep_interval_ms = 1000;
  int64_t default_max_concurrent = 4;
  int64_t metadata_max_entries = 16;
  int64_t metadata_max_bytes = 4096;
  int64_t retention_hours = 24;
  double mint_rate_per_second = 20;
  double mint_burst = 40;
  // After a start, live sessions whose streamer has not linked again this long end
  // (streamer_disconnected); 0: they wait for the idle timeout. One node only.
  int64_t streamer_reconnect_grace_seconds = 30;
  // [auth] failed authentications (API keys, access tokens, streamer secrets); 0: no limit
  int64_t max_failures_per_address = 30;  // per client address and window, then 429
  int64_t max_failures_per_key = 100;     // wrong secrets per API key id and window, then 429
  int64_t failure_window_seconds = 60;
  // [metrics] GET /metrics needs "Authorization: Bearer <token>" when either is set
  std::string metrics_bearer_token;
  std::string metrics_bearer_token_sha256;  // hex SHA-256 of the token: keeps it out of the file
  // [odyssey]
  int64_t access_token_ttl_seconds = 3600;
  std::string region = "local";
  // [signaling]
  std::vector<std::string> ice_servers;  // "stun:HOST:PORT", "turn:HOST:PORT?transport=udp"
  std::string turn_username;             // applied to every turn: and turns: URL
  std::string turn_credential;
  std::vector<std::string> cors_origins;  // exact origins, or "*"; --dev allows any
  int64_t max_connection_seconds = 0;     // 0: no cap; duration_limit_reached
  // [streaming]
  int64_t max_stream_seconds = 0;      // 0: no cap; interactive_stream_error session_timeout
  std::string streamer_secret;         // what streamers present; empty: data_dir/streamer.secret
  std::string local_encoder = "x264";  // the in-process (--dev) streamer's encoder
  int64_t local_capacity = 4;          // sessions the in-process streamer runs at once
  // A connection running no stream this long ends (idle_timeout); 0: off. -1 (unset): 40, or
  // 0 with --dev; stream_idle_timeout() resolves it.
  int64_t stream_idle_timeout_seconds = -1;
  std::string default_model;  // placed on when a mint names no model; empty: any streamer
  // [broadcast]
  int64_t max_spectators = 100;                // per stream; spectator_limit_reached beyond
  int64_t spectator_token_ttl_seconds = 3600;  // the stream's end revokes them sooner
  // [cluster] (used with a redis:// store)
  std::string node_id;      // this node's id in Redis; empty: generated at each start
  int64_t lease_ms = 9000;  // a dead node or streamer is gone after this; heartbeats at 1/3
};

// Applies a TOML document (the file's text) over `config`. `origin` names it in errors.
Status apply_toml(Config& config, const std::string& toml_text, const std::string& origin);
Status apply_file(Config& config, const std::string& path);
// Applies ITHACA_<SECTION>_<KEY> variables. Variables outside the known sections (for example
// the SDKs' ITHACA_API_KEY) are not ours and are ignored.
Status apply_env(Config& config, const std::map<std::string, std::string>& env);
std::map<std::string, std::string> process_env();
// Defaults, then the file (when `path` is not empty), then the process environment: every layer
// but the command line, which the app applies last.
Result<Config> load(const std::string& path);
// streaming.idle_timeout_seconds as it applies: the configured value, else 40 (0 with --dev).
int64_t stream_idle_timeout(const Config& config);
// Cross-field checks: ranges, listen address, key formats.
Status validate(const Config& config);
// Every "section.key" this version knows, in documentation order.
std::vector<std::string> known_keys();

// "HOST:PORT" split; config_invalid when malformed.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> parse_host_port(const std::string& text);

}  // namespace ithaca::config
