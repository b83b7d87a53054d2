#include "ithaca/store/memory/memory_store.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

#include "ithaca/store/rules.hpp"

namespace ithaca::store {

using session::Account;
using session::ApiKeyRecord;
using session::LiveCount;
using session::SessionRecord;
using session::SessionState;

Status MemoryStore::upsert_account(const Account& account) {
  if (auto valid = validate_account(account); !valid) return valid;
  std::lock_guard lock(mu_);
  accounts_[account.name].account = account;
  return ok_status();
}

Result<std::optional<Account>> MemoryStore::get_account(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(name);
  if (it == accounts_.end()) return std::optional<Account>{};
  return std::optional<Account>{it->second.account};
}

Status MemoryStore::insert_api_key(const ApiKeyRecord& key) {
  if (auto valid = validate_api_key(key); !valid) return valid;
  std::lock_guard lock(mu_);
  if (!accounts_.contains(key.account)) return unknown_account(key.account);
  if (keys_.contains(key.key_id)) {
    return make_error(ErrorCode::invalid_request, "api key " + key.key_id + " already exists");
  }
  keys_.emplace(key.key_id, to_stored(key));
  return ok_status();
}

Result<std::optional<ApiKeyRecord>> MemoryStore::find_api_key(const std::string& key_id) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return std::optional<ApiKeyRecord>{};
  return std::optional<ApiKeyRecord>{it->second};
}

Result<std::vector<ApiKeyRecord>> MemoryStore::list_api_keys() {
  std::vector<ApiKeyRecord> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(keys_.size());
    for (const auto& [id, key] : keys_) out.push_back(key);
  }
  std::stable_sort(out.begin(), out.end(), [](const ApiKeyRecord& a, const ApiKeyRecord& b) {
    return a.created_at < b.created_at;  // keys_ is ordered by id: the tie-break
  });
  return out;
}

Result<bool> MemoryStore::revoke_api_key(const std::string& key_id, TimePoint at) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return false;
  if (!it->second.revoked_at) it->second.revoked_at = to_stored_time(at);
  return true;
}

Status MemoryStore::insert_session(const SessionRecord& session) {
  if (auto valid = validate_new_session(session); !valid) return valid;
  std::lock_guard lock(mu_);
  auto account = accounts_.find(session.account);
  if (account == accounts_.end()) return unknown_account(session.account);
  if (sessions_.contains(session.id)) {
    return make_error(ErrorCode::invalid_request, "session " + session.id + " already exists");
  }
  AccountEntry& entry = account->second;
  if (entry.live >= entry.account.max_concurrent) {
    return limit_reached(session.account, entry.live, entry.account.max_concurrent);
  }
  sessions_.emplace(session.id, SessionEntry{next_seq_++, to_stored(session)});
  ++entry.live;
  return ok_status();
}

Result<std::optional<SessionRecord>> MemoryStore::get_session(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::optional<SessionRecord>{};
  return std::optional<SessionRecord>{it->second.record};
}

template <class Pred>
std::vector<SessionRecord> MemoryStore::live_where(Pred pred) const {
  std::vector<const SessionEntry*> found;
  for (const auto& [id, entry] : sessions_) {
    if (entry.record.live() && pred(entry.record)) found.push_back(&entry);
  }
  std::sort(found.begin(), found.end(), [](const SessionEntry* a, const SessionEntry* b) {
    return std::tie(a->record.created_at, a->seq) < std::tie(b->record.created_at, b->seq);
  });
  std::vector<SessionRecord> out;
  out.reserve(found.size());
  for (const SessionEntry* entry : found) out.push_back(entry->record);
  return out;
}

Result<std::vector<SessionRecord>> MemoryStore::list_live_sessions(const std::string& account) {
  std::lock_guard lock(mu_);
  return live_where(
      [&](const SessionRecord& s) { return account.empty() || s.account == account; });
}

Result<SessionRecord> MemoryStore::update_session(const std::string& id,
                                                  const session::SessionUpdate& update) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return session_not_found(id);
  SessionRecord& current = it->second.record;
  auto next = apply_update(current, update);
  if (!next) return next;
  if (current.live() && !next->live()) --accounts_[current.account].live;
  current = *next;
  return next;
}

Result<std::vector<SessionRecord>> MemoryStore::sessions_due(TimePoint now, int limit) {
  std::vector<const SessionEntry*> found;
  std::vector<SessionRecord> out;
  if (limit <= 0) return out;
  std::lock_guard lock(mu_);
  for (const auto& [id, entry] : sessions_) {
    const SessionRecord& s = entry.record;
    if (s.live() && s.deadline_at && *s.deadline_at <= now) found.push_back(&entry);
  }
  std::sort(found.begin(), found.end(), [](const SessionEntry* a, const SessionEntry* b) {
    return std::tie(*a->record.deadline_at, a->record.created_at, a->seq) <
           std::tie(*b->record.deadline_at, b->record.created_at, b->seq);
  });
  if (found.size() > static_cast<size_t>(limit)) found.resize(static_cast<size_t>(limit));
  out.reserve(found.size());
  for (const SessionEntry* entry : found) out.push_back(entry->record);
  return out;
}

Result<std::vector<SessionRecord>> MemoryStore::sessions_on_streamer(
    const std::string& streamer_id) {
  std::lock_guard lock(mu_);
  return live_where([&](const SessionRecord& s) { return s.streamer_id == streamer_id; });
}

Result<int> MemoryStore::purge_ended(TimePoint before) {
  const TimePoint cutoff = to_stored_time(before);  // compare at stored precision, as SQLite
  std::lock_guard lock(mu_);
  // An ended session without ended_at counts as ended when it was created (as in SQLite).
  return static_cast<int>(std::erase_if(sessions_, [&](const auto& item) {
    const SessionRecord& s = item.second.record;
    return !s.live() && s.ended_at.value_or(s.created_at) < cutoff;
  }));
}

Result<std::vector<LiveCount>> MemoryStore::count_live_by_state() {
  // Indexed by the enum's value: provisioned, connected, dropped come first, in this order.
  static_assert(static_cast<int>(SessionState::dropped) == 2);
  std::vector<LiveCount> out;
  for (SessionState s :
       {SessionState::provisioned, SessionState::connected, SessionState::dropped}) {
    out.push_back({std::string(session::to_string(s)), 0});
  }
  std::lock_guard lock(mu_);
  for (const auto& [id, entry] : sessions_) {
    if (entry.record.live()) ++out[static_cast<size_t>(entry.record.state)].count;
  }
  return out;
}

Result<std::vector<LiveCount>> MemoryStore::count_live_by_account() {
  std::lock_guard lock(mu_);
  std::vector<LiveCount> out;
  out.reserve(accounts_.size());
  for (const auto& [name, entry] : accounts_) out.push_back({name, entry.live});
  return out;
}

}  // namespace ithaca::store
