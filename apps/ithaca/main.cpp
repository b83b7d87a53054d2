// The ithaca binary: `ithaca server`, `ithaca keys create|list|revoke`, `ithaca version`.
// Configuration precedence: defaults, --config FILE, ITHACA_* environment, flags.
#include <CLI/CLI.hpp>
#include <iostream>

#include "ithaca/base/log.hpp"
#include "keys_command.hpp"
#include "server.hpp"

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
  cmd->add_option("--store", flags.store, "store URL: sqlite:PATH or memory:");
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

int run_server(Config config) {
  ithaca::set_log_level(config.log_level);
  ithaca::app::block_stop_signals();

  auto server = ithaca::app::Server::create(config);
  if (!server) return config_error(server.error());
  if (auto s = (*server)->start(); !s) return config_error(s.error());
  std::cout << "Ithaca is running at " << (*server)->public_url() << std::endl;
  if (config.dev) {
    std::cout << "DEV MODE: never expose this server. Dev API key (account \"dev\"):\n  "
              << (*server)->dev_api_key() << std::endl;
  }
  const int sig = ithaca::app::wait_for_stop_signal();
  ithaca::logger("server")->info("stopping signal={}", sig);
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
  server->add_flag("--dev", dev, "development mode: dev account and key, dev-only routes");

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
    return run_server(std::move(*config));
  }
  if (keys->parsed()) {
    auto config = load(keys_flags);
    if (!config) return config_error(config.error());
    if (create->parsed()) return ithaca::app::keys_create(*config, account, max_concurrent);
    if (list->parsed()) return ithaca::app::keys_list(*config, as_json);
    if (revoke->parsed()) return ithaca::app::keys_revoke(*config, key_id);
  }
  return 0;
}
