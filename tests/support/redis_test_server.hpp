// RedisTestServer: a throwaway redis-server for tests, on a free loopback port, in a temporary
// working folder, so a test never touches a system Redis or leaves data behind. Nothing is
// persisted unless asked: with `persist`, an AOF fsync'd on every write, so a kill() and
// start() again (same port) is a Redis restart that keeps its data.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace ithaca::testing {

class RedisTestServer {
 public:
  // The redis-server binary, or "" when it is not installed (tests then skip, saying so).
  static std::string binary();

  explicit RedisTestServer(bool persist = false);
  ~RedisTestServer();  // stops it and removes its folder
  RedisTestServer(const RedisTestServer&) = delete;
  RedisTestServer& operator=(const RedisTestServer&) = delete;

  // Starts it (on a new free port the first time, the same port after) and waits until it
  // answers PING; false when it did not come up.
  bool start();
  // SIGKILL, like a crash: nothing is saved.
  void kill();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  std::string url(int db = 0) const;

 private:
  std::string dir_;
  bool persist_ = false;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace ithaca::testing
