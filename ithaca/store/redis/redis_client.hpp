// RedisPool: a few synchronous hiredis connections to one Redis, shared by every thread of a
// node. A call takes a connection for its duration (one in use per thread at a time), so calls
// on different threads run in parallel up to the pool size and wait beyond it.
//
// Failure model: a connection that fails (refused, timed out, reset) is dropped and re-made by
// the next call, so a Redis that comes back is used again without a restart. Every failure is
// a value: store_unavailable (HTTP 503), never an exception or a crash. An error *reply*
// (a script that raised, a wrong type) is also store_unavailable, with Redis' text as detail.
//
// Scripts: Script keeps a Lua source and its SHA-1; eval() sends EVALSHA and falls back to EVAL
// when the server answers NOSCRIPT (a fresh or restarted Redis), which also loads it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ithaca/base/error.hpp"

struct redisContext;

namespace ithaca::store::redis {

struct Endpoint {
  std::string host;
  uint16_t port = 6379;
  int db = 0;
};

// "redis://HOST:PORT[/DB]" (HOST may be [v6]); config_invalid when malformed.
Result<Endpoint> parse_redis_url(std::string_view url);

// A reply copied out of hiredis, so no hiredis type escapes this file pair.
struct Reply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status, error
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::nil; }
  // A string or integer reply as an integer (Lua numbers come back as integers).
  long long as_int() const;
};

class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

struct PoolOptions {
  // Connections kept; a call beyond this many at once waits for one. Sized for the API's
  // worker pool plus network threads on a small node; Redis itself is single-threaded.
  int size = 8;
  // Short, so a Redis that is down turns into a quick 503 rather than a stalled request.
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{2000};
};

class RedisPool {
 public:
  RedisPool(Endpoint endpoint, PoolOptions options = {});
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // One command, arguments binary-safe.
  Result<Reply> command(const std::vector<std::string>& args);
  // Several commands in one round trip; one reply each, in order.
  Result<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string>>& commands);
  // EVALSHA, then EVAL on NOSCRIPT.
  Result<Reply> eval(const Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args);

  const Endpoint& endpoint() const { return endpoint_; }
  int size() const { return static_cast<int>(all_.size()); }

 private:
  struct Conn;
  // A connected context (re-made if it was dropped), or store_unavailable.
  Result<Conn*> acquire();
  void give_back(Conn* conn, bool broken);
  Result<std::vector<Reply>> run(const std::vector<std::vector<std::string>>& commands);

  const Endpoint endpoint_;
  const PoolOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> all_;
  std::vector<Conn*> idle_;
};

}  // namespace ithaca::store::redis
