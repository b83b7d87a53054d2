// ithaca_test_server: `ithaca server` plus stand-in streamers, for tests and benchmarks of the
// control plane that need a separate process (kill -9, load from wrk). A stand-in streamer is
// only a registry entry with a capacity: it streams nothing, which is all the control plane
// needs to place sessions. Real streamers register themselves over signaling.
//
//   ithaca_test_server --data DIR [--config FILE] [--listen HOST:PORT] [--port-file FILE]
//                      [--streamer ID:CAPACITY]...
#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>

#include "ithaca/base/log.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Ithaca test server"};
  std::string data_dir, config_file, listen = "127.0.0.1:0", port_file;
  std::vector<std::string> streamers;
  app.add_option("--data", data_dir)->required();
  app.add_option("--config", config_file);
  app.add_option("--listen", listen);
  app.add_option("--port-file", port_file);
  app.add_option("--streamer", streamers);
  CLI11_PARSE(app, argc, argv);

  ithaca::config::Config c;
  if (!config_file.empty()) {
    if (auto s = ithaca::config::apply_file(c, config_file); !s) {
      std::cerr << s.error().to_string() << '\n';
      return 2;
    }
  }
  if (auto s = ithaca::config::apply_env(c, ithaca::config::process_env()); !s) {
    std::cerr << s.error().to_string() << '\n';
    return 2;
  }
  c.data_dir = data_dir;
  c.listen = listen;
  ithaca::set_log_level(c.log_level);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = ithaca::app::Server::create(c);
  if (!server) {
    std::cerr << server.error().to_string() << '\n';
    return 2;
  }
  for (const auto& spec : streamers) {
    const auto colon = spec.find(':');
    ithaca::session::StreamerInfo info{
        spec.substr(0, colon), std::stoi(spec.substr(colon + 1)), {}};
    if (auto s = (*server)->add_streamer(info); !s) {
      std::cerr << s.error().to_string() << '\n';
      return 1;
    }
  }
  if (auto s = (*server)->start(); !s) {
    std::cerr << s.error().to_string() << '\n';
    return 2;
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << (*server)->port() << '\n';
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->stop();
  return 0;
}
