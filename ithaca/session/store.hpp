// Store: where accounts, API keys and sessions live. One interface, several backends
// (store/memory for tests, store/sqlite the embedded default, Redis later); one contract test
// suite (ithaca/store/store_contract_test.cpp) runs against every backend.
//
// The slot rule lives here because only the backend can make it atomic: insert_session()
// counts the account's live sessions and inserts in one step, so no interleaving of concurrent
// mints, threads or processes lets an account exceed its limit. Session changes are
// compare-and-set (SessionUpdate::expected_states), so two racing transitions cannot both win.
//
// Every call is synchronous and thread-safe. A call returns only once its effect is durable for
// that backend (SQLite: fsync'd), so a client is never told of something a crash can undo.
// Failures are values: store_unavailable when the backend cannot be reached or written.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ithaca/base/error.hpp"
#include "ithaca/session/types.hpp"

namespace ithaca::session {

// A change to one session, applied only if its state is one of expected_states.
struct SessionUpdate {
  std::vector<SessionState> expected_states;
  SessionState new_state = SessionState::provisioned;
  EndCause end_cause = EndCause::none;    // set together with new_state == ended
  std::optional<TimePoint> connected_at;  // set if given and not yet set
  std::optional<TimePoint> ended_at;      // set if given
  bool set_deadline = false;              // deadline_at := deadline (which may be empty)
  std::optional<TimePoint> deadline;
  // Issuing the session's one credential: applied only if no token was issued before
  // (else credential_already_issued).
  std::optional<std::string> issue_token_jti;
  std::optional<TimePoint> token_expires_at;
};

struct LiveCount {
  std::string key;  // a state name or an account name
  int count = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Accounts. upsert keeps existing sessions; a lower limit only stops new mints.
  virtual Status upsert_account(const Account& account) = 0;
  virtual Result<std::optional<Account>> get_account(const std::string& name) = 0;

  // API keys. revoke_api_key: false when there is no such key (revoking twice is true).
  virtual Status insert_api_key(const ApiKeyRecord& key) = 0;
  virtual Result<std::optional<ApiKeyRecord>> find_api_key(const std::string& key_id) = 0;
  virtual Result<std::vector<ApiKeyRecord>> list_api_keys() = 0;
  virtual Result<bool> revoke_api_key(const std::string& key_id, TimePoint at) = 0;

  // Inserts `session` (a new id, a live state) if its account holds fewer live sessions than its
  // max_concurrent; else CONCURRENT_LIMIT_REACHED with details {active_count, limit}.
  // session_not_found... never; invalid_request when the account does not exist.
  virtual Status insert_session(const SessionRecord& session) = 0;
  // insert_session without a waiting thread: `done` is called exactly once, on any thread
  // (possibly before this returns), once the outcome is durable. Backends with a writer queue
  // override it so that a mint holds no thread while its batch is fsync'd.
  virtual void insert_session_async(const SessionRecord& session,
                                    std::function<void(Status)> done) {
    done(insert_session(session));
  }
  virtual Result<std::optional<SessionRecord>> get_session(const std::string& id) = 0;
  // Live sessions (not ended), oldest first; all accounts when `account` is empty.
  virtual Result<std::vector<SessionRecord>> list_live_sessions(const std::string& account) = 0;
  // session_not_found; session_ended when the update expects a live state and finds it ended;
  // session_already_connected when it finds another live state than expected (connected);
  // credential_already_issued (see SessionUpdate). Returns the record after the change.
  virtual Result<SessionRecord> update_session(const std::string& id,
                                               const SessionUpdate& update) = 0;
  // Live sessions with deadline_at <= now, oldest deadline first, at most `limit`.
  virtual Result<std::vector<SessionRecord>> sessions_due(TimePoint now, int limit) = 0;
  // Live sessions placed on one streamer (to end them when it is lost).
  virtual Result<std::vector<SessionRecord>> sessions_on_streamer(
      const std::string& streamer_id) = 0;
  // Deletes ended sessions that ended before `before`; returns how many.
  virtual Result<int> purge_ended(TimePoint before) = 0;

  // For metrics: live sessions per state, and per account.
  virtual Result<std::vector<LiveCount>> count_live_by_state() = 0;
  virtual Result<std::vector<LiveCount>> count_live_by_account() = 0;
};

}  // namespace ithaca::session
