// MemoryStore: the Store in a mutex and a few maps, for tests and a throwaway dev server.
// Nothing survives the process. Every call takes one lock, so each is atomic (the slot rule of
// insert_session included) and "durable" as soon as it returns. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ithaca/session/store.hpp"

namespace ithaca::store {

class MemoryStore final : public session::Store {
 public:
  MemoryStore() = default;

  Status upsert_account(const session::Account& account) override;
  Result<std::optional<session::Account>> get_account(const std::string& name) override;

  Status insert_api_key(const session::ApiKeyRecord& key) override;
  Result<std::optional<session::ApiKeyRecord>> find_api_key(const std::string& key_id) override;
  Result<std::vector<session::ApiKeyRecord>> list_api_keys() override;
  Result<bool> revoke_api_key(const std::string& key_id, TimePoint at) override;

  Status insert_session(const session::SessionRecord& session) override;
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
  struct AccountEntry {
    session::Account account;
    int live = 0;  // live sessions, kept in step with `sessions_`
  };
  struct SessionEntry {
    uint64_t seq = 0;  // insertion order: the tie-break among equal created_at, as in SQLite
    session::SessionRecord record;
  };

  // Live sessions matching `pred`, oldest first.
  template <class Pred>
  std::vector<session::SessionRecord> live_where(Pred pred) const;

  std::mutex mu_;
  std::map<std::string, AccountEntry> accounts_;
  std::map<std::string, session::ApiKeyRecord> keys_;
  std::unordered_map<std::string, SessionEntry> sessions_;
  uint64_t next_seq_ = 0;
};

}  // namespace ithaca::store
