// The ithaca binary: `ithaca server`, `ithaca streamer`, `ithaca keys create|list|revoke`,
// `ithaca version`.
// Configuration precedence: defaults, --config FILE, ITHACA_* environment, flags.
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>

#include "ithaca/base/log.hpp"
#include "keys_command.hpp"
#include "server.hpp"
#include "streamer_command.hpp"

namespace {

using ithaca::config::Config;

struct CommonFlags {
  std::string config_file;
  std::optional<std::string> data_dir;
  std::optional<std::string> store;
};

void add_common(CLI::App* cmd, CommonFlags& flags) {
  cmd->add_option("--config", flags.config_file, "TOML config file");
  cmd->add_option("--data", flags.data_dir, "data directory (database, signing key)");
  cmd->add_option("--store", flags.store,
                  "store URL: sqlite:PATH, memory: or redis://HOST:PORT[/DB]");
}

// Defaults, then the file, then the environment, then the common flags.
ithaca::Result<Config> load(const CommonFlags& flags) {
  auto c = ithaca::config::load(flags.config_file);
  if (!c) return c;
  if (flags.data_dir) c->data_dir = *flags.data_dir;
  if (flags.store) c->store = *flags.store;
  return c;
}

int config_error(const ithaca::Error& e) {
  std::cerr << "ithaca: " << e.to_string() << '\n';
  return 2;
}

// How long `ithaca server --dev` waits for its in-process streamer before it says it runs.
constexpr std::chrono::milliseconds kLocalStreamerWait{30000};

struct ServerFlags {
  std::string port_file;           // written with the bound port once ready (tests, scripts)
  bool no_local_streamer = false;  // --dev without the in-process streamer
};

int run_server(Config config, const ServerFlags& flags) {
  ithaca::set_log_level(config.log_level);
  ithaca::app::block_stop_signals();

  auto server = ithaca::app::Server::create(config);
  if (!server) return config_error(server.error());
  if (auto s = (*server)->start(); !s) return config_error(s.error());
  std::unique_ptr<ithaca::streamer::Streamer> local;
  if (config.dev && !flags.no_local_streamer) {
    auto started =
        ithaca::app::start_local_streamer(config, (*server)->port(), (*server)->streamer_secret());
    if (!started) return config_error(started.error());
    local = std::move(*started);
    // "Running" means a mint succeeds: the in-process streamer registers within a second or so.
    // External streamers (--no-local-streamer, or without --dev) register whenever they start;
    // nothing waits for them (GET /readyz tells when one has).
    if (!local->wait_registered(kLocalStreamerWait)) {
      std::cerr << "ithaca: warning: the in-process streamer has not registered after "
                << kLocalStreamerWait.count() / 1000
                << " s; mints answer no_streamer_available until it does (see GET /readyz)"
                << std::endl;
    }
  }
  std::cout << "Ithaca is running at " << (*server)->public_url() << std::endl;
  if (config.dev) {
    std::cout << "DEV MODE: never expose this server. Open " << (*server)->public_url()
              << "/ for the demo.\nDev API key (account \"dev\"):\n  " << (*server)->dev_api_key()
              << std::endl;
  }
  // Last: scripts and tests take the port file as "ready", the banner already printed.
  if (!flags.port_file.empty()) {
    std::ofstream(flags.port_file + ".tmp") << (*server)->port() << '\n';
    std::rename((flags.port_file + ".tmp").c_str(), flags.port_file.c_str());
  }
  const int sig = ithaca::app::wait_for_stop_signal();
  ithaca::logger("server")->info("stopping signal={}", sig);
  local.reset();
  (*server)->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Ithaca: self-hosted interactive video streams"};
  app.require_subcommand(1);

  CommonFlags server_flags;
  std::optional<std::string> listen, log_level;
  bool dev = false;
  auto* server = app.add_subcommand("server", "run the control plane");
  add_common(server, server_flags);
  server->add_option("--listen", listen, "HOST:PORT to listen on");
  server->add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
  server->add_flag("--dev", dev,
                   "development mode: dev account and key, demo page, dev-only routes, and an "
                   "in-process streamer");
  ServerFlags server_only;
  server->add_option("--port-file", server_only.port_file,
                     "write the bound port to this file once ready to serve (with --dev: once the "
                     "in-process streamer registered)");
  server->add_flag("--no-local-streamer", server_only.no_local_streamer,
                   "with --dev: do not start the in-process streamer");

  ithaca::app::StreamerFlags streamer_flags;
  auto* streamer = app.add_subcommand("streamer", "run a streamer for a server");
  streamer->add_option("--server", streamer_flags.server_url, "the server, ws://HOST:PORT")
      ->required();
  streamer->add_option("--secret-file", streamer_flags.secret_file,
                       "file holding the server's streamer secret (else ITHACA_STREAMER_SECRET)");
  streamer->add_option("--id", streamer_flags.id, "streamer id (default streamer-<hostname>)");
  streamer->add_option("--capacity", streamer_flags.capacity, "sessions at once")
      ->check(CLI::Range(1, 1024));
  streamer->add_option("--encoder", streamer_flags.encoder, "x264, openh264 or vp8")
      ->check(CLI::IsMember({"x264", "openh264", "vp8"}));
  streamer->add_option("--bitrate", streamer_flags.bitrate_kbps, "video bitrate, kbit/s")
      ->check(CLI::Range(100, 50000));
  streamer->add_option("--stun-server", streamer_flags.stun_server, "stun://HOST:PORT");
  streamer->add_option("--turn-server", streamer_flags.turn_server, "turn://USER:PASS@HOST:PORT");
  streamer->add_option("--log-level", streamer_flags.log_level, "trace|debug|info|warn|error|off");
  streamer
      ->add_option("--dtls-cert-days", streamer_flags.dtls_certificate_days,
                   "lifetime of the DTLS certificate (made anew after half of it)")
      ->check(CLI::Range(1, 3650));
  streamer
      ->add_option("--spectator-send", streamer_flags.spectator_send,
                   "direct (the broadcast fan-out encrypts and sends) or webrtcbin")
      ->check(CLI::IsMember({"direct", "webrtcbin"}));
  // docs/model-workers.md section 2.
  streamer->add_option(
      "--model", streamer_flags.model_command,
      "serve a model: the worker command, e.g. \"python -m ithaca_model m:World\"");
  streamer->add_option("--workers", streamer_flags.model_workers, "worker processes (with --model)")
      ->check(CLI::Range(1, 256));
  streamer
      ->add_option("--gpus", streamer_flags.model_gpus,
                   "CUDA_VISIBLE_DEVICES per worker, round robin: 0,1,...")
      ->delimiter(',');
  streamer
      ->add_option("--model-step-timeout", streamer_flags.model_step_timeout_s,
                   "seconds a model step may take before its worker is killed")
      ->check(CLI::Range(0.01, 600.0));
  streamer
      ->add_option("--model-load-timeout", streamer_flags.model_load_timeout_s,
                   "s a worker may take to load before it is killed")
      ->check(CLI::Range(1, 86400));

  auto* keys = app.add_subcommand("keys", "manage API keys");
  keys->require_subcommand(1);
  CommonFlags keys_flags;
  std::string account, key_id;
  std::optional<int> max_concurrent;
  bool as_json = false;
  auto* create = keys->add_subcommand("create", "create a key; prints it once, on stdout");
  add_common(create, keys_flags);
  create->add_option("--account", account, "account name")->required();
  create->add_option("--max-concurrent", max_concurrent, "the account's concurrent sessions");
  auto* list = keys->add_subcommand("list", "list keys (never their secrets)");
  add_common(list, keys_flags);
  list->add_flag("--json", as_json, "JSON output");
  auto* revoke = keys->add_subcommand("revoke", "revoke a key by its id");
  add_common(revoke, keys_flags);
  revoke->add_option("KEY_ID", key_id, "the key id (keys list shows it)")->required();

  app.add_subcommand("version", "print the version")->callback([] {
    std::cout << "ithaca " << ITHACA_VERSION << std::endl;
  });

  CLI11_PARSE(app, argc, argv);
  ithaca::set_log_level("warn");

  if (server->parsed()) {
    auto config = load(server_flags);
    if (!config) return config_error(config.error());
    if (listen) config->listen = *listen;
    if (log_level) config->log_level = *log_level;
    if (dev) config->dev = true;
    if (config->dev && config->data_dir == Config{}.data_dir) {
      config->data_dir = ".ithaca-dev";
    }
    return run_server(std::move(*config), server_only);
  }
  if (streamer->parsed()) return ithaca::app::run_streamer(streamer_flags);
  if (keys->parsed()) {
    auto config = load(keys_flags);
    if (!config) return config_error(config.error());
    if (create->parsed()) return ithaca::app::keys_create(*config, account, max_concurrent);
    if (list->parsed()) return ithaca::app::keys_list(*config, as_json);
    if (revoke->parsed()) return ithaca::app::keys_revoke(*config, key_id);
  }
  return 0;
}
