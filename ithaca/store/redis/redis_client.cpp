#include "ithaca/store/redis/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>

#include <charconv>
#include <cstdio>

#include "ithaca/base/log.hpp"

namespace ithaca::store::redis {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("redis");
  return l;
}

Error unavailable(const std::string& detail) {
  return make_error(ErrorCode::store_unavailable, "redis: " + detail);
}

Reply copy_reply(const redisReply* r) {
  Reply out;
  if (!r) return out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

long long Reply::as_int() const {
  if (type == Type::integer) return integer;
  long long v = 0;
  std::from_chars(str.data(), str.data() + str.size(), v);
  return v;
}

Result<Endpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::config_invalid, "store url '" + std::string(url) + "': " + why +
                                                     " (expected redis://HOST:PORT[/DB])");
  };
  if (!url.starts_with(kScheme)) return bad("not a redis:// url");
  std::string_view rest = url.substr(kScheme.size());
  Endpoint ep;
  std::string_view db;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    ep.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("junk after ]");
      port = rest.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    ep.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (ep.host.empty()) return bad("no host");
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return bad("bad port");
    }
    ep.port = static_cast<uint16_t>(p);
  }
  if (!db.empty()) {
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
    if (ec != std::errc() || end != db.data() + db.size() || ep.db < 0 || ep.db > 15) {
      return bad("bad database number");
    }
  }
  return ep;
}

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  char hex[2 * SHA_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  sha_.assign(hex, 2 * SHA_DIGEST_LENGTH);
}

struct RedisPool::Conn {
  redisContext* ctx = nullptr;
  ~Conn() {
    if (ctx) redisFree(ctx);
  }
  void reset() {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
  }
};

RedisPool::RedisPool(Endpoint endpoint, PoolOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {
  for (int i = 0; i < std::max(1, options_.size); ++i) {
    all_.push_back(std::make_unique<Conn>());
    idle_.push_back(all_.back().get());
  }
}

RedisPool::~RedisPool() = default;

Result<RedisPool::Conn*> RedisPool::acquire() {
  Conn* conn = nullptr;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty(); });
    conn = idle_.back();
    idle_.pop_back();
  }
  if (conn->ctx) {
    // An idle connection has nothing to read: if its socket is readable, the server closed it
    // (a Redis restart, an idle timeout). Reconnect now rather than fail this call with it.
    pollfd pfd{conn->ctx->fd, POLLIN, 0};
    if (poll(&pfd, 1, 0) == 0) return conn;
    conn->reset();
  }
  const timeval connect_tv = to_timeval(options_.connect_timeout);
  redisContext* ctx = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect_tv);
  std::string why;
  if (!ctx) {
    why = "cannot allocate a connection";
  } else if (ctx->err) {
    why = std::string("connect ") + endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " +
          ctx->errstr;
  } else {
    const timeval command_tv = to_timeval(options_.command_timeout);
    redisSetTimeout(ctx, command_tv);
    if (endpoint_.db != 0) {
      auto* r = static_cast<redisReply*>(redisCommand(ctx, "SELECT %d", endpoint_.db));
      if (!r || r->type == REDIS_REPLY_ERROR) {
        why = std::string("SELECT ") + std::to_string(endpoint_.db) + ": " +
              (r ? std::string(r->str, r->len) : std::string(ctx->errstr));
      }
      if (r) freeReplyObject(r);
    }
  }
  if (!why.empty()) {
    if (ctx) redisFree(ctx);
    give_back(conn, false);
    return unavailable(why);
  }
  conn->ctx = ctx;
  return conn;
}

void RedisPool::give_back(Conn* conn, bool broken) {
  if (broken) conn->reset();
  {
    std::lock_guard lock(mu_);
    idle_.push_back(conn);
  }
  cv_.notify_one();
}

Result<std::vector<Reply>> RedisPool::run(const std::vector<std::vector<std::string>>& commands) {
  auto acquired = acquire();
  if (!acquired) return std::move(acquired).error();
  Conn* conn = *acquired;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& args : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(conn->ctx, static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      std::string why = conn->ctx->errstr;
      give_back(conn, true);
      return unavailable(why);
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(conn->ctx, &raw) != REDIS_OK || !raw) {
      // The connection is in an unknown state (timeout mid-reply, reset): never reuse it.
      std::string why = conn->ctx->err ? conn->ctx->errstr : "no reply";
      if (raw) freeReplyObject(raw);
      give_back(conn, true);
      log()->warn("connection to {}:{} lost: {}", endpoint_.host, endpoint_.port, why);
      return unavailable(why);
    }
    replies.push_back(copy_reply(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  give_back(conn, false);
  return replies;
}

Result<Reply> RedisPool::command(const std::vector<std::string>& args) {
  auto replies = run({args});
  if (!replies) return std::move(replies).error();
  Reply r = std::move(replies->front());
  if (r.type == Reply::Type::error) return unavailable(r.str);
  return r;
}

Result<std::vector<Reply>> RedisPool::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  auto replies = run(commands);
  if (!replies) return replies;
  for (const auto& r : *replies) {
    if (r.type == Reply::Type::error) return unavailable(r.str);
  }
  return replies;
}

Result<Reply> RedisPool::eval(const Script& script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
  std::vector<std::string> cmd = {"EVALSHA", script.sha(), std::to_string(keys.size())};
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto replies = run({cmd});
  if (!replies) return std::move(replies).error();
  Reply r = std::move(replies->front());
  if (r.type == Reply::Type::error && r.str.starts_with("NOSCRIPT")) {
    cmd[0] = "EVAL";
    cmd[1] = script.source();
    auto again = run({cmd});
    if (!again) return std::move(again).error();
    r = std::move(again->front());
  }
  if (r.type == Reply::Type::error) return unavailable(r.str);
  return r;
}

}  // namespace ithaca::store::redis
