#include "ithaca/cluster/session_end_relay.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <nlohmann/json.hpp>

#include "ithaca/base/log.hpp"
#include "ithaca/store/redis/redis_store.hpp"

namespace ithaca::cluster {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("cluster");
  return l;
}

// How often the subscriber looks at its stop flag, and waits before reconnecting.
constexpr int kPollMs = 200;

}  // namespace

SessionEndRelay::SessionEndRelay(std::shared_ptr<store::redis::RedisPool> pool, std::string node_id,
                                 Deliver deliver)
    : pool_(std::move(pool)),
      node_id_(std::move(node_id)),
      channel_(std::string(store::RedisStore::kPrefix) + "ended"),
      deliver_(std::move(deliver)) {
  thread_ = std::thread([this] { run(); });
}

SessionEndRelay::~SessionEndRelay() {
  stopping_ = true;
  thread_.join();
}

void SessionEndRelay::on_session_ended(const session::SessionRecord& s) {
  const std::string payload =
      nlohmann::json{{"node", node_id_}, {"id", s.id}, {"cause", session::to_string(s.end_cause)}}
          .dump();
  if (auto r = pool_->command({"PUBLISH", channel_, payload}); !r) {
    log()->warn("end of session={} not relayed: {}", s.id, r.error().to_string());
  }
}

void SessionEndRelay::handle(const std::string& payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.value("node", nlohmann::json()).is_string() ||
      !j.value("id", nlohmann::json()).is_string() ||
      !j.value("cause", nlohmann::json()).is_string()) {
    return;
  }
  if (j["node"].get<std::string>() == node_id_) return;  // this node's hub heard it already
  session::SessionRecord ended;
  ended.id = j["id"].get<std::string>();
  ended.state = session::SessionState::ended;
  if (!session::parse_end_cause(j["cause"].get<std::string>(), ended.end_cause)) return;
  deliver_(ended);
}

void SessionEndRelay::run() {
  const auto& ep = pool_->endpoint();
  while (!stopping_) {
    const timeval tv{0, 500 * 1000};
    redisContext* ctx = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
    bool ok = ctx && !ctx->err;
    if (ok) {
      // SELECT is irrelevant to pub/sub (channels are server-wide); the prefix names ours.
      auto* r = static_cast<redisReply*>(
          redisCommand(ctx, "SUBSCRIBE %b", channel_.data(), channel_.size()));
      ok = r && r->type == REDIS_REPLY_ARRAY;
      if (r) freeReplyObject(r);
    }
    if (ok) {
      subscribed_ = true;
      while (!stopping_) {
        pollfd pfd{ctx->fd, POLLIN, 0};
        const int ready = poll(&pfd, 1, kPollMs);
        if (ready == 0) continue;
        if (ready < 0 || redisBufferRead(ctx) != REDIS_OK) break;
        void* raw = nullptr;
        bool broken = false;
        while (!broken) {
          if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) {
            broken = true;
            break;
          }
          if (!raw) break;
          auto* reply = static_cast<redisReply*>(raw);
          if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
              reply->element[2]->type == REDIS_REPLY_STRING) {
            handle(std::string(reply->element[2]->str, reply->element[2]->len));
          }
          freeReplyObject(raw);
        }
        if (broken) break;
      }
      subscribed_ = false;
    }
    if (ctx) redisFree(ctx);
    if (stopping_) break;
    // Redis is down or the connection dropped: try again shortly.
    for (int i = 0; i < 5 && !stopping_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

}  // namespace ithaca::cluster
