#include "ithaca/store/redis/redis_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "ithaca/store/rules.hpp"

namespace ithaca::store {

using session::Account;
using session::ApiKeyRecord;
using session::LiveCount;
using session::SessionRecord;
using session::SessionState;
using Json = nlohmann::json;
using redis::Reply;
using redis::Script;

namespace {

const std::string kP(RedisStore::kPrefix);

std::string ms(TimePoint t) {
  return std::to_string(to_unix_ms(t));
}

Json opt_ms(const std::optional<TimePoint>& t) {
  return t ? Json(to_unix_ms(*t)) : Json(nullptr);
}

std::optional<TimePoint> read_opt_ms(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return from_unix_ms(it->get<int64_t>());
}

std::string encode(const SessionRecord& s) {
  Json j = {{"id", s.id},
            {"account", s.account},
            {"streamer", s.streamer_id},
            {"model", s.model},
            {"state", session::to_string(s.state)},
            {"cause", session::to_string(s.end_cause)},
            {"created", to_unix_ms(s.created_at)},
            {"connected", opt_ms(s.connected_at)},
            {"ended", opt_ms(s.ended_at)},
            {"jti", s.token_jti},
            {"token_exp", opt_ms(s.token_expires_at)},
            {"deadline", opt_ms(s.deadline_at)},
            {"caps", s.capabilities},
            {"meta", s.metadata}};
  return j.dump();
}

// A record as written by encode(); store_unavailable when Redis holds something else (another
// program's key under our prefix), rather than a crash.
Result<SessionRecord> decode(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto corrupt = [&] {
    return make_error(ErrorCode::store_unavailable, "redis: a session record is not readable");
  };
  if (!j.is_object()) return corrupt();
  SessionRecord s;
  auto str = [&](const char* name, std::string& out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  std::string state, cause;
  str("model", s.model);  // absent in records written before models
  if (!str("id", s.id) || !str("account", s.account) || !str("streamer", s.streamer_id) ||
      !str("state", state) || !str("cause", cause) || !str("jti", s.token_jti)) {
    return corrupt();
  }
  if (!session::parse_session_state(state, s.state) ||
      !session::parse_end_cause(cause, s.end_cause))
    return corrupt();
  auto created = read_opt_ms(j, "created");
  if (!created) return corrupt();
  s.created_at = *created;
  s.connected_at = read_opt_ms(j, "connected");
  s.ended_at = read_opt_ms(j, "ended");
  s.token_expires_at = read_opt_ms(j, "token_exp");
  s.deadline_at = read_opt_ms(j, "deadline");
  for (const auto& [name, out] : {std::pair{"caps", 0}, std::pair{"meta", 1}}) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_object()) return corrupt();
    for (const auto& [k, v] : it->items()) {
      if (out == 0 && v.is_boolean())
        s.capabilities[k] = v.get<bool>();
      else if (out == 1 && v.is_string())
        s.metadata[k] = v.get<std::string>();
      else
        return corrupt();
    }
  }
  return s;
}

std::string encode_key(const ApiKeyRecord& k) {
  return Json{
      {"account", k.account}, {"hash", k.secret_hash}, {"created", to_unix_ms(k.created_at)}}
      .dump();
}

std::optional<ApiKeyRecord> decode_key(const std::string& id, const Reply& j,
                                       const Reply& revoked) {
  if (j.is_nil()) return std::nullopt;
  Json doc = Json::parse(j.str, nullptr, false);
  if (!doc.is_object() || !doc.value("account", Json()).is_string() ||
      !doc.value("hash", Json()).is_string() || !doc.value("created", Json()).is_number_integer()) {
    return std::nullopt;
  }
  ApiKeyRecord k;
  k.key_id = id;
  k.account = doc["account"].get<std::string>();
  k.secret_hash = doc["hash"].get<std::string>();
  k.created_at = from_unix_ms(doc["created"].get<int64_t>());
  if (!revoked.is_nil()) k.revoked_at = from_unix_ms(revoked.as_int());
  return k;
}

// ---- scripts (ARGV[1] is always the key prefix) ----

// The slot rule: count, compare and insert in one step.
const Script kInsertSession(R"lua(
local p = ARGV[1]
local id, account, streamer, state = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local acct = p .. 'acct:' .. account
local max = redis.call('HGET', acct, 'max')
if not max then return {'no_account'} end
local skey = p .. 'ses:' .. id
if redis.call('EXISTS', skey) == 1 then return {'exists'} end
local live = tonumber(redis.call('HGET', acct, 'live') or '0')
if live >= tonumber(max) then return {'limit', live, tonumber(max)} end
local seq = redis.call('INCR', p .. 'seq')
redis.call('HSET', skey, 'j', ARGV[6], 'v', 1, 'seq', seq)
redis.call('HINCRBY', acct, 'live', 1)
redis.call('SADD', p .. 'live', id)
redis.call('SADD', p .. 'live:acct:' .. account, id)
redis.call('SADD', p .. 'live:str:' .. streamer, id)
redis.call('SADD', p .. 'placed', streamer)
if ARGV[7] ~= '' then redis.call('ZADD', p .. 'due', ARGV[7], id) end
redis.call('HINCRBY', p .. 'states', state, 1)
return {'ok'}
)lua");

// Compare-and-set: writes the new record only if the version read is still current, and keeps
// every index and count in step with the state change.
const Script kUpdateSession(R"lua(
local p = ARGV[1]
local id = ARGV[2]
local skey = p .. 'ses:' .. id
local v = redis.call('HGET', skey, 'v')
if not v then return 'gone' end
if v ~= ARGV[3] then return 'retry' end
redis.call('HSET', skey, 'j', ARGV[4], 'v', tonumber(v) + 1)
local old, new, account, streamer = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if old ~= 'ended' then
  redis.call('HINCRBY', p .. 'states', old, -1)
  if new == 'ended' then
    redis.call('HINCRBY', p .. 'acct:' .. account, 'live', -1)
    redis.call('SREM', p .. 'live', id)
    redis.call('SREM', p .. 'live:acct:' .. account, id)
    redis.call('SREM', p .. 'live:str:' .. streamer, id)
  else
    redis.call('HINCRBY', p .. 'states', new, 1)
  end
end
if new == 'ended' then redis.call('ZADD', p .. 'ended', ARGV[10], id) end
if new ~= 'ended' and ARGV[9] ~= '' then
  redis.call('ZADD', p .. 'due', ARGV[9], id)
else
  redis.call('ZREM', p .. 'due', id)
end
return 'ok'
)lua");

const Script kInsertApiKey(R"lua(
local p = ARGV[1]
if redis.call('HEXISTS', p .. 'acct:' .. ARGV[3], 'max') == 0 then return 'no_account' end
local k = p .. 'key:' .. ARGV[2]
if redis.call('EXISTS', k) == 1 then return 'exists' end
redis.call('HSET', k, 'j', ARGV[4])
redis.call('SADD', p .. 'keys', ARGV[2])
return 'ok'
)lua");

// The first revocation time stays.
const Script kRevokeApiKey(R"lua(
local k = ARGV[1] .. 'key:' .. ARGV[2]
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('HSETNX', k, 'revoked', ARGV[3])
return 1
)lua");

// Deletes ended sessions that ended strictly before ARGV[2] (ms).
const Script kPurgeEnded(R"lua(
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'ended', '-inf', '(' .. ARGV[2])
for _, id in ipairs(ids) do
  redis.call('DEL', p .. 'ses:' .. id)
  redis.call('ZREM', p .. 'ended', id)
end
return #ids
)lua");

// The most attempts of one update against concurrent writers of the same session; each
// failed attempt means another writer won, so this bounds only pathological contention.
constexpr int kMaxCasAttempts = 64;

}  // namespace

Result<std::unique_ptr<RedisStore>> RedisStore::open(std::string_view url,
                                                     redis::PoolOptions options) {
  auto endpoint = redis::parse_redis_url(url);
  if (!endpoint) return std::move(endpoint).error();
  return std::make_unique<RedisStore>(
      std::make_shared<redis::RedisPool>(std::move(*endpoint), options));
}

// As many writers as connections: more would only wait for a connection.
RedisStore::RedisStore(std::shared_ptr<redis::RedisPool> pool)
    : pool_(std::move(pool)), writers_(std::make_unique<ThreadPool>(pool_->size())) {}

RedisStore::~RedisStore() {
  writers_.reset();
}

void RedisStore::insert_session_async(const SessionRecord& session,
                                      std::function<void(Status)> done) {
  writers_->post([this, session, done = std::move(done)] { done(insert_session(session)); });
}

Status RedisStore::upsert_account(const Account& account) {
  if (auto valid = validate_account(account); !valid) return valid;
  auto done = pool_->pipeline(
      {{"HSET", kP + "acct:" + account.name, "max", std::to_string(account.max_concurrent)},
       {"SADD", kP + "accts", account.name}});
  if (!done) return std::move(done).error();
  return ok_status();
}

Result<std::optional<Account>> RedisStore::get_account(const std::string& name) {
  auto max = pool_->command({"HGET", kP + "acct:" + name, "max"});
  if (!max) return std::move(max).error();
  if (max->is_nil()) return std::optional<Account>{};
  return std::optional<Account>{Account{name, static_cast<int>(max->as_int())}};
}

Status RedisStore::insert_api_key(const ApiKeyRecord& key) {
  if (auto valid = validate_api_key(key); !valid) return valid;
  auto r = pool_->eval(kInsertApiKey, {}, {kP, key.key_id, key.account, encode_key(key)});
  if (!r) return std::move(r).error();
  if (r->str == "no_account") return unknown_account(key.account);
  if (r->str == "exists") {
    return make_error(ErrorCode::invalid_request, "api key " + key.key_id + " already exists");
  }
  return ok_status();
}

Result<std::optional<ApiKeyRecord>> RedisStore::find_api_key(const std::string& key_id) {
  auto r = pool_->command({"HMGET", kP + "key:" + key_id, "j", "revoked"});
  if (!r) return std::move(r).error();
  if (r->elements.size() != 2) return make_error(ErrorCode::store_unavailable, "redis: bad reply");
  return decode_key(key_id, r->elements[0], r->elements[1]);
}

Result<std::vector<ApiKeyRecord>> RedisStore::list_api_keys() {
  auto ids = pool_->command({"SMEMBERS", kP + "keys"});
  if (!ids) return std::move(ids).error();
  std::vector<std::vector<std::string>> gets;
  for (const auto& id : ids->elements)
    gets.push_back({"HMGET", kP + "key:" + id.str, "j", "revoked"});
  std::vector<ApiKeyRecord> out;
  if (gets.empty()) return out;
  auto rows = pool_->pipeline(gets);
  if (!rows) return std::move(rows).error();
  for (size_t i = 0; i < rows->size(); ++i) {
    const Reply& row = (*rows)[i];
    if (row.elements.size() != 2) continue;
    if (auto k = decode_key(ids->elements[i].str, row.elements[0], row.elements[1])) {
      out.push_back(std::move(*k));
    }
  }
  std::sort(out.begin(), out.end(), [](const ApiKeyRecord& a, const ApiKeyRecord& b) {
    return std::tie(a.created_at, a.key_id) < std::tie(b.created_at, b.key_id);
  });
  return out;
}

Result<bool> RedisStore::revoke_api_key(const std::string& key_id, TimePoint at) {
  auto r = pool_->eval(kRevokeApiKey, {}, {kP, key_id, ms(to_stored_time(at))});
  if (!r) return std::move(r).error();
  return r->as_int() == 1;
}

Status RedisStore::insert_session(const SessionRecord& input) {
  if (auto valid = validate_new_session(input); !valid) return valid;
  const SessionRecord s = to_stored(input);
  auto r = pool_->eval(kInsertSession, {},
                       {kP, s.id, s.account, s.streamer_id, std::string(to_string(s.state)),
                        encode(s), s.deadline_at ? ms(*s.deadline_at) : ""});
  if (!r) return std::move(r).error();
  const std::string outcome = r->elements.empty() ? "" : r->elements[0].str;
  if (outcome == "ok") return ok_status();
  if (outcome == "no_account") return unknown_account(s.account);
  if (outcome == "exists") {
    return make_error(ErrorCode::invalid_request, "session " + s.id + " already exists");
  }
  if (outcome == "limit" && r->elements.size() == 3) {
    return limit_reached(s.account, static_cast<int>(r->elements[1].as_int()),
                         static_cast<int>(r->elements[2].as_int()));
  }
  return make_error(ErrorCode::store_unavailable, "redis: unexpected insert outcome");
}

Result<std::vector<RedisStore::Stored>> RedisStore::fetch(const std::vector<std::string>& ids) {
  std::vector<Stored> out;
  if (ids.empty()) return out;
  std::vector<std::vector<std::string>> gets;
  gets.reserve(ids.size());
  for (const auto& id : ids) gets.push_back({"HMGET", kP + "ses:" + id, "j", "seq"});
  auto rows = pool_->pipeline(gets);
  if (!rows) return std::move(rows).error();
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    if (row.elements.size() != 2 || row.elements[0].is_nil()) continue;  // purged meanwhile
    auto record = decode(row.elements[0].str);
    if (!record) return std::move(record).error();
    out.push_back({std::move(*record), row.elements[1].as_int()});
  }
  return out;
}

Result<std::optional<SessionRecord>> RedisStore::get_session(const std::string& id) {
  auto found = fetch({id});
  if (!found) return std::move(found).error();
  if (found->empty()) return std::optional<SessionRecord>{};
  return std::optional<SessionRecord>{std::move(found->front().record)};
}

Result<std::vector<SessionRecord>> RedisStore::live_in(const std::string& set_key) {
  auto ids = pool_->command({"SMEMBERS", set_key});
  if (!ids) return std::move(ids).error();
  std::vector<std::string> list;
  for (const auto& e : ids->elements) list.push_back(e.str);
  auto found = fetch(list);
  if (!found) return std::move(found).error();
  std::erase_if(*found, [](const Stored& s) { return !s.record.live(); });
  std::sort(found->begin(), found->end(), [](const Stored& a, const Stored& b) {
    return std::tie(a.record.created_at, a.seq) < std::tie(b.record.created_at, b.seq);
  });
  std::vector<SessionRecord> out;
  out.reserve(found->size());
  for (auto& s : *found) out.push_back(std::move(s.record));
  return out;
}

Result<std::vector<SessionRecord>> RedisStore::list_live_sessions(const std::string& account) {
  return live_in(account.empty() ? kP + "live" : kP + "live:acct:" + account);
}

Result<std::vector<SessionRecord>> RedisStore::sessions_on_streamer(
    const std::string& streamer_id) {
  return live_in(kP + "live:str:" + streamer_id);
}

Result<SessionRecord> RedisStore::update_session(const std::string& id,
                                                 const session::SessionUpdate& update) {
  for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
    auto row = pool_->command({"HMGET", kP + "ses:" + id, "j", "v"});
    if (!row) return std::move(row).error();
    if (row->elements.size() != 2 || row->elements[0].is_nil()) return session_not_found(id);
    auto current = decode(row->elements[0].str);
    if (!current) return std::move(current).error();
    auto next = apply_update(*current, update);
    if (!next) return next;
    const SessionRecord& n = *next;
    auto r = pool_->eval(
        kUpdateSession, {},
        {kP, id, row->elements[1].str, encode(n), std::string(to_string(current->state)),
         std::string(to_string(n.state)), n.account, n.streamer_id,
         n.deadline_at ? ms(*n.deadline_at) : "", ms(n.ended_at.value_or(n.created_at))});
    if (!r) return std::move(r).error();
    if (r->str == "ok") return next;
    if (r->str == "gone") return session_not_found(id);
    // "retry": another writer changed it since we read; read it again.
  }
  return make_error(ErrorCode::store_unavailable,
                    "redis: session " + id + " kept changing; update not applied");
}

Result<std::vector<SessionRecord>> RedisStore::sessions_due(TimePoint now, int limit) {
  std::vector<SessionRecord> out;
  if (limit <= 0) return out;
  const std::string due = kP + "due";
  auto first = pool_->command(
      {"ZRANGEBYSCORE", due, "-inf", ms(now), "WITHSCORES", "LIMIT", "0", std::to_string(limit)});
  if (!first) return std::move(first).error();
  std::vector<std::string> ids;
  for (size_t i = 0; i + 1 < first->elements.size(); i += 2) ids.push_back(first->elements[i].str);
  if (ids.size() == static_cast<size_t>(limit)) {
    // Sessions tied with the last deadline are ordered by age, which the score cannot say:
    // take them all and cut after sorting.
    const std::string last = first->elements.back().str;
    auto ties = pool_->command({"ZRANGEBYSCORE", due, last, last});
    if (!ties) return std::move(ties).error();
    for (const auto& e : ties->elements) {
      if (std::find(ids.begin(), ids.end(), e.str) == ids.end()) ids.push_back(e.str);
    }
  }
  auto found = fetch(ids);
  if (!found) return std::move(found).error();
  std::erase_if(*found, [&](const Stored& s) {
    return !s.record.live() || !s.record.deadline_at || *s.record.deadline_at > now;
  });
  std::sort(found->begin(), found->end(), [](const Stored& a, const Stored& b) {
    return std::tie(*a.record.deadline_at, a.record.created_at, a.seq) <
           std::tie(*b.record.deadline_at, b.record.created_at, b.seq);
  });
  if (found->size() > static_cast<size_t>(limit)) found->resize(static_cast<size_t>(limit));
  for (auto& s : *found) out.push_back(std::move(s.record));
  return out;
}

Result<int> RedisStore::purge_ended(TimePoint before) {
  auto r = pool_->eval(kPurgeEnded, {}, {kP, ms(to_stored_time(before))});
  if (!r) return std::move(r).error();
  return static_cast<int>(r->as_int());
}

Result<std::vector<LiveCount>> RedisStore::count_live_by_state() {
  auto r = pool_->command({"HMGET", kP + "states", "provisioned", "connected", "dropped"});
  if (!r) return std::move(r).error();
  std::vector<LiveCount> out;
  const char* names[] = {"provisioned", "connected", "dropped"};
  for (size_t i = 0; i < 3; ++i) {
    out.push_back(
        {names[i], i < r->elements.size() ? static_cast<int>(r->elements[i].as_int()) : 0});
  }
  return out;
}

Result<std::vector<LiveCount>> RedisStore::count_live_by_account() {
  auto names = pool_->command({"SMEMBERS", kP + "accts"});
  if (!names) return std::move(names).error();
  std::vector<LiveCount> out;
  if (names->elements.empty()) return out;
  std::vector<std::vector<std::string>> gets;
  for (const auto& n : names->elements) gets.push_back({"HGET", kP + "acct:" + n.str, "live"});
  auto lives = pool_->pipeline(gets);
  if (!lives) return std::move(lives).error();
  for (size_t i = 0; i < names->elements.size(); ++i) {
    out.push_back({names->elements[i].str, static_cast<int>((*lives)[i].as_int())});
  }
  std::sort(out.begin(), out.end(),
            [](const LiveCount& a, const LiveCount& b) { return a.key < b.key; });
  return out;
}

}  // namespace ithaca::store
