#include "ithaca/cluster/redis_streamer_registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "ithaca/base/log.hpp"
#include "ithaca/store/redis/redis_store.hpp"

namespace ithaca::cluster {
namespace {

using store::redis::Reply;
using store::redis::Script;

const std::string kP(store::RedisStore::kPrefix);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("cluster");
  return l;
}

// Least loaded by fraction of capacity (as LocalStreamerRegistry), among live entries of live
// nodes serving the model (ARGV[3]; any when empty) that have every required capability; then
// takes the place. -1: no live entry serves the model; false: none has a free place.
const Script kReserve(R"lua(
local p, model = ARGV[1], ARGV[3]
local required = cjson.decode(ARGV[2])
local best, best_use, best_cap
local served = model == ''
local node_alive = {}  -- per node id, looked up once
for _, id in ipairs(redis.call('SMEMBERS', p .. 'streamers')) do
  local f = redis.call('HMGET', p .. 'streamer:' .. id, 'capacity', 'in_use', 'caps', 'node',
                       'model')
  local cap, use = tonumber(f[1]), tonumber(f[2] or '0')
  if cap and f[3] and f[4] and (model == '' or (f[5] or 'procedural') == model) then
    if node_alive[f[4]] == nil then
      node_alive[f[4]] = redis.call('EXISTS', p .. 'node:' .. f[4]) == 1
    end
    local fits = node_alive[f[4]] and redis.call('EXISTS', p .. 'streamer_lease:' .. id) == 1
    if fits then served = true end
    fits = fits and use < cap and (best == nil or use * best_cap < best_use * cap)
    if fits and #required > 0 then
      local caps = cjson.decode(f[3])
      for _, name in ipairs(required) do
        if caps[name] ~= true then fits = false break end
      end
    end
    if fits then best, best_use, best_cap = id, use, cap end
  end
end
if not served then return -1 end
if not best then return false end
redis.call('HINCRBY', p .. 'streamer:' .. best, 'in_use', 1)
local g = redis.call('HMGET', p .. 'streamer:' .. best, 'caps', 'url', 'model')
return {best, g[1], g[2], g[3] or 'procedural'}
)lua");

// Every live entry of a live node: {id, capacity, in_use, caps, model_info, degraded, version}.
const Script kList(R"lua(
local p = ARGV[1]
local out = {}
local node_alive = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'streamers')) do
  local f = redis.call('HMGET', p .. 'streamer:' .. id, 'capacity', 'in_use', 'caps', 'node',
                       'model_info', 'degraded', 'version')
  if f[1] and f[3] and f[4] then
    if node_alive[f[4]] == nil then
      node_alive[f[4]] = redis.call('EXISTS', p .. 'node:' .. f[4]) == 1
    end
    if node_alive[f[4]] and redis.call('EXISTS', p .. 'streamer_lease:' .. id) == 1 then
      table.insert(out, {id, f[1], f[2] or '0', f[3], f[5] or '', f[6] or '0', f[7] or ''})
    end
  end
end
return out
)lua");

// The entries kReserve would consider, whatever their capabilities: {registered, free places}.
const Script kAvailability(R"lua(
local p = ARGV[1]
local registered, free = 0, 0
local node_alive = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'streamers')) do
  local f = redis.call('HMGET', p .. 'streamer:' .. id, 'capacity', 'in_use', 'caps', 'node')
  local cap, use = tonumber(f[1]), tonumber(f[2] or '0')
  if cap and f[3] and f[4] then
    if node_alive[f[4]] == nil then
      node_alive[f[4]] = redis.call('EXISTS', p .. 'node:' .. f[4]) == 1
    end
    if node_alive[f[4]] and redis.call('EXISTS', p .. 'streamer_lease:' .. id) == 1 then
      registered = registered + 1
      if use < cap then free = free + (cap - use) end
    end
  end
end
return {registered, free}
)lua");

const Script kRelease(R"lua(
local h = ARGV[1] .. 'streamer:' .. ARGV[2]
local use = redis.call('HGET', h, 'in_use')
if use and tonumber(use) > 0 then redis.call('HINCRBY', h, 'in_use', -1) end
return 1
)lua");

// ARGV: prefix, id, capacity, caps, node, url, in_use ('' on a heartbeat), lease ms, model
// name, model_info (JSON), degraded ('0'/'1'), version.
// A heartbeat leaves a streamer alone once another node took it over (returns 0).
const Script kUpsert(R"lua(
local p, id, node = ARGV[1], ARGV[2], ARGV[5]
local h = p .. 'streamer:' .. id
local owner = redis.call('HGET', h, 'node')
local fresh = ARGV[7] ~= ''
if not fresh and owner and owner ~= node then return 0 end
redis.call('HSET', h, 'capacity', ARGV[3], 'caps', ARGV[4], 'node', node, 'url', ARGV[6],
           'model', ARGV[9], 'model_info', ARGV[10], 'degraded', ARGV[11], 'version', ARGV[12])
if fresh then
  redis.call('HSET', h, 'in_use', ARGV[7])
elseif redis.call('HEXISTS', h, 'in_use') == 0 then
  redis.call('HSET', h, 'in_use', redis.call('SCARD', p .. 'live:str:' .. id))
end
redis.call('SADD', p .. 'streamers', id)
redis.call('SET', p .. 'streamer_lease:' .. id, node, 'PX', ARGV[8])
return 1
)lua");

const Script kRemove(R"lua(
local p, id = ARGV[1], ARGV[2]
local h = p .. 'streamer:' .. id
local owner = redis.call('HGET', h, 'node')
if owner and owner ~= ARGV[3] then return 0 end
redis.call('DEL', h, p .. 'streamer_lease:' .. id)
redis.call('SREM', p .. 'streamers', id)
return 1
)lua");

const Script kForgetDead(R"lua(
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'streamer_lease:' .. id) == 1 then return 0 end
redis.call('SREM', p .. 'streamers', id)
redis.call('DEL', p .. 'streamer:' .. id)
if redis.call('SCARD', p .. 'live:str:' .. id) == 0 then redis.call('SREM', p .. 'placed', id) end
return 1
)lua");

std::string encode_model(const session::ModelInfo& m) {
  return nlohmann::json{
      {"name", m.name},     {"version", m.version},           {"formats", m.formats},
      {"params", m.params}, {"max_sessions", m.max_sessions}, {"image_to_video", m.image_to_video}}
      .dump();
}

// An entry written before models (or unreadable) is the procedural world.
session::ModelInfo decode_model(const std::string& text) {
  session::ModelInfo m;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return m;
  m.name = j.value("name", m.name);
  m.version = j.value("version", m.version);
  m.formats = j.value("formats", m.formats);
  m.params = j.value("params", m.params);
  m.max_sessions = j.value("max_sessions", m.max_sessions);
  m.image_to_video = j.value("image_to_video", m.image_to_video);
  return m;
}

}  // namespace

RedisStreamerRegistry::RedisStreamerRegistry(std::shared_ptr<store::redis::RedisPool> pool,
                                             NodeIdentity self)
    : pool_(std::move(pool)),
      beat_pool_(std::make_shared<store::redis::RedisPool>(pool_->endpoint(),
                                                           store::redis::PoolOptions{.size = 1})),
      self_(std::move(self)) {}

void RedisStreamerRegistry::on_linked(std::function<void(const std::string&)> callback) {
  std::lock_guard lock(mu_);
  on_linked_ = std::move(callback);
}

Result<session::Placement> RedisStreamerRegistry::reserve(const session::Capabilities& required,
                                                          const std::string& model) {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& [name, wanted] : required) {
    if (wanted) names.push_back(name);
  }
  auto r = pool_->eval(kReserve, {}, {kP, names.dump(), model});
  if (!r) return std::move(r).error();
  if (r->type == Reply::Type::integer && r->as_int() == -1) return session::unknown_model(model);
  if (r->type != Reply::Type::array || r->elements.size() != 4) {
    return make_error(ErrorCode::no_streamer_available);
  }
  session::Placement placement;
  placement.streamer_id = r->elements[0].str;
  auto caps = nlohmann::json::parse(r->elements[1].str, nullptr, false);
  if (caps.is_object()) {
    for (const auto& [k, v] : caps.items()) {
      if (v.is_boolean()) placement.capabilities[k] = v.get<bool>();
    }
  }
  placement.signaling_url = r->elements[2].str;
  placement.model = r->elements[3].str;
  return placement;
}

void RedisStreamerRegistry::release(const std::string& streamer_id) {
  if (auto r = pool_->eval(kRelease, {}, {kP, streamer_id}); !r) {
    log()->warn("release streamer={} not applied: {}", streamer_id, r.error().to_string());
  }
}

Result<bool> RedisStreamerRegistry::write_entry(const session::StreamerInfo& info,
                                                const std::string& in_use) {
  auto r = beat_pool_->eval(
      kUpsert, {},
      {kP, info.id, std::to_string(info.capacity), nlohmann::json(info.capabilities).dump(),
       self_.node_id, self_.signaling_url, in_use, std::to_string(self_.lease.count()),
       info.model.name, encode_model(info.model), info.degraded ? "1" : "0", info.version});
  if (!r) return std::move(r).error();
  return r->as_int() == 1;
}

void RedisStreamerRegistry::upsert(const session::StreamerInfo& info, int in_use) {
  std::function<void(const std::string&)> linked;
  {
    std::lock_guard lock(mu_);
    if (!mine_.contains(info.id)) linked = on_linked_;
    mine_[info.id] = Mine{info};
  }
  if (auto written = write_entry(info, std::to_string(in_use)); !written) {
    log()->warn("streamer={} not registered in redis yet: {}", info.id,
                written.error().to_string());
  } else {
    log()->info("streamer linked streamer={} node={} in_use={}", info.id, self_.node_id, in_use);
  }
  if (linked) linked(info.id);
}

bool RedisStreamerRegistry::remove(const std::string& streamer_id) {
  {
    std::lock_guard lock(mu_);
    mine_.erase(streamer_id);
  }
  auto r = pool_->eval(kRemove, {}, {kP, streamer_id, self_.node_id});
  if (!r) {
    // Its lease runs out on its own; ending its sessions here is still right: its link is gone.
    log()->warn("streamer={} not removed from redis: {}", streamer_id, r.error().to_string());
    return true;
  }
  return r->as_int() == 1;
}

bool RedisStreamerRegistry::set_capacity(const std::string& streamer_id, int capacity,
                                         bool degraded) {
  session::StreamerInfo info;
  {
    std::lock_guard lock(mu_);
    auto it = mine_.find(streamer_id);
    if (it == mine_.end()) return false;
    it->second.info.capacity = capacity;
    it->second.info.degraded = degraded;
    info = it->second.info;
  }
  if (auto written = write_entry(info, ""); !written) {
    log()->warn("capacity of streamer={} not written to redis yet: {}", streamer_id,
                written.error().to_string());
  }
  return true;
}

Result<std::vector<session::StreamerLoad>> RedisStreamerRegistry::list() {
  auto r = pool_->eval(kList, {}, {kP});
  if (!r) return std::move(r).error();
  std::vector<session::StreamerLoad> out;
  for (const auto& row : r->elements) {
    if (row.elements.size() != 7) continue;
    session::StreamerLoad load;
    load.info.id = row.elements[0].str;
    load.info.capacity = static_cast<int>(std::strtol(row.elements[1].str.c_str(), nullptr, 10));
    load.in_use = static_cast<int>(std::strtol(row.elements[2].str.c_str(), nullptr, 10));
    auto caps = nlohmann::json::parse(row.elements[3].str, nullptr, false);
    if (caps.is_object()) {
      for (const auto& [k, v] : caps.items()) {
        if (v.is_boolean()) load.info.capabilities[k] = v.get<bool>();
      }
    }
    load.info.model = decode_model(row.elements[4].str);
    load.info.degraded = row.elements[5].str == "1";
    load.info.version = row.elements[6].str;
    out.push_back(std::move(load));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.info.id < b.info.id; });
  return out;
}

std::string RedisStreamerRegistry::signaling_url_of(const std::string& streamer_id) {
  auto r = pool_->command({"HGET", kP + "streamer:" + streamer_id, "url"});
  return r && !r->is_nil() ? r->str : std::string();
}

Result<session::Availability> RedisStreamerRegistry::availability() {
  auto r = pool_->eval(kAvailability, {}, {kP});
  if (!r) return std::move(r).error();
  if (r->type != Reply::Type::array || r->elements.size() != 2) {
    return make_error(ErrorCode::store_unavailable, "unexpected reply to the availability script");
  }
  return session::Availability{static_cast<int>(r->elements[0].as_int()),
                               static_cast<int>(r->elements[1].as_int())};
}

Status RedisStreamerRegistry::heartbeat() {
  std::vector<session::StreamerInfo> infos;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, mine] : mine_) infos.push_back(mine.info);
  }
  auto node = beat_pool_->command({"SET", kP + "node:" + self_.node_id, self_.signaling_url, "PX",
                                   std::to_string(self_.lease.count())});
  if (!node) return std::move(node).error();
  for (const auto& info : infos) {
    auto written = write_entry(info, "");
    if (!written) return std::move(written).error();
    if (!*written) {
      log()->info("streamer={} is linked to another node now; dropped here", info.id);
      std::lock_guard lock(mu_);
      mine_.erase(info.id);
    }
  }
  return ok_status();
}

Result<std::vector<std::string>> RedisStreamerRegistry::dead_streamers() {
  auto ids = beat_pool_->command({"SUNION", kP + "streamers", kP + "placed"});
  if (!ids) return std::move(ids).error();
  std::vector<std::string> out;
  if (ids->elements.empty()) return out;
  std::vector<std::vector<std::string>> checks;
  for (const auto& id : ids->elements)
    checks.push_back({"EXISTS", kP + "streamer_lease:" + id.str});
  auto alive = beat_pool_->pipeline(checks);
  if (!alive) return std::move(alive).error();
  for (size_t i = 0; i < ids->elements.size(); ++i) {
    if ((*alive)[i].as_int() == 0) out.push_back(ids->elements[i].str);
  }
  return out;
}

Result<bool> RedisStreamerRegistry::forget_dead(const std::string& streamer_id) {
  auto r = beat_pool_->eval(kForgetDead, {}, {kP, streamer_id});
  if (!r) return std::move(r).error();
  return r->as_int() == 1;
}

}  // namespace ithaca::cluster
