// Server: one Ithaca node assembled from a Config: store, key ring, streamer registry, session
// service, sweeper, control plane API, signaling hub and HTTP server. This is the only place
// that picks implementations; `ithaca server` and the test harness both build one.
#pragma once

#include <memory>
#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/config/config.hpp"
#include "ithaca/session/store.hpp"
#include "ithaca/session/streamer_registry.hpp"

namespace ithaca::app {

class Server {
 public:
  static Result<std::unique_ptr<Server>> create(const config::Config& config);
  ~Server();

  // Listens, starts the sweeper, and hands sessions left connected by a previous process to
  // the drop rule (their clients' connections died with it).
  Status start();
  // Stops serving, finishes the work in flight and closes the store. Idempotent; afterwards the
  // Server is only fit for destruction.
  void stop();

  uint16_t port() const;
  // http://host:port as clients see it (server.public_url when set).
  const std::string& public_url() const;
  session::LocalStreamerRegistry& registry();
  session::Store& store();
  // Adds a streamer, counting the live sessions the store already places on it.
  Status add_streamer(const session::StreamerInfo& info);
  // In dev mode: the dev account's API key (created on first start, kept in data_dir).
  const std::string& dev_api_key() const;
  // What streamers present on /signaling/streamer (Authorization: Bearer): the configured
  // streaming.streamer_secret, else data_dir/streamer.secret (config::load_streamer_secret).
  const std::string& streamer_secret() const;

 private:
  struct Parts;
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// For a process that runs a Server until told to stop: block SIGINT and SIGTERM before any
// thread starts (threads inherit the mask), then wait for one of them.
void block_stop_signals();
int wait_for_stop_signal();

}  // namespace ithaca::app
