// TestNode: a real Ithaca node in the test process (HTTP on a free loopback port, SQLite in a
// fresh temp dir unless told otherwise), with helpers to create keys and call the API.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ithaca/auth/api_key.hpp"
#include "ithaca/net/http_client.hpp"
#include "server.hpp"

namespace ithaca::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct JsonResponse {
  int status = 0;
  nlohmann::json body;
  std::string raw;
};

class TestNode {
 public:
  // `tweak` may change the config before the node is built (store, limits, timers).
  explicit TestNode(std::function<void(config::Config&)> tweak = {});

  app::Server& server() { return *server_; }
  session::Store& store() { return server_->store(); }
  uint16_t port() const { return server_->port(); }
  const std::string& data_dir() const { return dir_.path(); }

  // Creates (or updates) an account and returns a fresh API key for it.
  std::string create_key(const std::string& account, int max_concurrent);
  // One request on a fresh connection.
  JsonResponse call(const std::string& method, const std::string& target,
                    const std::string& api_key = {}, const std::string& body = {});

 private:
  TempDir dir_;
  std::unique_ptr<app::Server> server_;
};

JsonResponse call(net::HttpClient& client, const std::string& method, const std::string& target,
                  const std::string& api_key = {}, const std::string& body = {});

}  // namespace ithaca::testing
