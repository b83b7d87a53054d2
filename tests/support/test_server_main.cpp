// ithaca_test_server: `ithaca server` plus stand-in streamers, for tests and benchmarks of the
// control plane that need a separate process (kill -9, load from wrk). A stand-in streamer is
// only a registry entry with a capacity: it streams nothing, which is all the control plane
// needs to place sessions. Real streamers register themselves over signaling.
//
//   ithaca_test_server --data DIR [--config FILE] [--listen HOST:PORT] [--port-file FILE]
//                      [--streamer ID:CAPACITY]...
#include <CLI/CLI.hpp>
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

  auto loaded = ithaca::config::load(config_file);
  if (!loaded) {
    std::cerr << loaded.error().to_string() << '\n';
    return 2;
  }
  ithaca::config::Config c = std::move(*loaded);
  c.data_dir = data_dir;
  c.listen = listen;
  ithaca::set_log_level(c.log_level);
  ithaca::app::block_stop_signals();

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
  ithaca::app::wait_for_stop_signal();
  (*server)->stop();
  return 0;
}
