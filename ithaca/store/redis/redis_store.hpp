// RedisStore: the Store on a Redis server shared by every node of a deployment
// (`--store redis://HOST:PORT[/DB]`). Durability is what the operator configures on Redis
// (AOF with appendfsync everysec or always, RDB snapshots; docs/deployment.md).
//
// Atomicity: every rule that must hold across nodes runs inside one Lua script, which Redis
// executes alone: the slot rule of insert_session (count, compare, insert), the API key insert
// (account exists, id unused) and the compare-and-set of update_session. Updates read the record
// with its version, apply the shared rules of store/rules.hpp in C++, and write back through a
// script that succeeds only if the version is unchanged (else the update is re-read and retried),
// so the transition rules live in one place for every backend.
//
// Keys (prefix "ith:"): acct:NAME {max, live}; accts (set); key:ID {j, revoked}; keys (set);
// ses:ID {j (JSON record), v (version), seq}; live, live:acct:NAME, live:str:ID (sets of live
// session ids); placed (streamer ids that held sessions); due (zset by deadline ms); ended (zset
// by end ms); states {provisioned, connected, dropped} (live counts); seq (insertion counter).
//
// Thread-safe; calls run on the caller's thread over a RedisPool connection. A Redis that cannot
// be reached is store_unavailable, and the next call reconnects.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ithaca/base/thread_pool.hpp"
#include "ithaca/session/store.hpp"
#include "ithaca/store/redis/redis_client.hpp"

namespace ithaca::store {

class RedisStore final : public session::Store {
 public:
  // Parses the URL and prepares the pool; connects lazily, so a Redis that is down at start is
  // store_unavailable on the first call, not a failed start.
  static Result<std::unique_ptr<RedisStore>> open(std::string_view url,
                                                  redis::PoolOptions options = {});
  explicit RedisStore(std::shared_ptr<redis::RedisPool> pool);
  ~RedisStore() override;  // runs the inserts already queued, then returns

  // The pool, shared with the cluster registry of the same deployment.
  const std::shared_ptr<redis::RedisPool>& pool() const { return pool_; }
  // The prefix of every key this store writes.
  static constexpr std::string_view kPrefix = "ith:";

  Status upsert_account(const session::Account& account) override;
  Result<std::optional<session::Account>> get_account(const std::string& name) override;

  Status insert_api_key(const session::ApiKeyRecord& key) override;
  Result<std::optional<session::ApiKeyRecord>> find_api_key(const std::string& key_id) override;
  Result<std::vector<session::ApiKeyRecord>> list_api_keys() override;
  Result<bool> revoke_api_key(const std::string& key_id, TimePoint at) override;

  Status insert_session(const session::SessionRecord& session) override;
  // On one of this store's writer threads, so the caller (an HTTP network thread) is free
  // during the round trip and several mints are in flight per node.
  void insert_session_async(const session::SessionRecord& session,
                            std::function<void(Status)> done) override;
  Result<std::optional<session::SessionRecord>> get_session(const std::string& id) override;
  Result<std::vector<session::SessionRecord>> list_live_sessions(
      const std::string& account) override;
  Result<session::SessionRecord> update_session(const std::string& id,
                                                const session::SessionUpdate& update) override;
  Result<std::vector<session::SessionRecord>> sessions_due(TimePoint now, int limit) override;
  Result<std::vector<session::SessionRecord>> sessions_on_streamer(
      const std::string& streamer_id) override;
  Result<int> purge_ended(TimePoint before) override;

  Result<std::vector<session::LiveCount>> count_live_by_state() override;
  Result<std::vector<session::LiveCount>> count_live_by_account() override;

 private:
  struct Stored {
    session::SessionRecord record;
    long long seq = 0;
  };
  // The sessions with these ids that still exist, in no particular order.
  Result<std::vector<Stored>> fetch(const std::vector<std::string>& ids);
  // The live sessions among the members of a set, oldest first.
  Result<std::vector<session::SessionRecord>> live_in(const std::string& set_key);

  std::shared_ptr<redis::RedisPool> pool_;
  std::unique_ptr<ThreadPool> writers_;  // after pool_: joined before it goes
};

}  // namespace ithaca::store
