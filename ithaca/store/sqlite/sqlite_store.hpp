// SqliteStore: the embedded default Store, one SQLite file in WAL mode with synchronous=FULL, so
// a call returns only once its transaction is fsync'd and the file reopens consistent after a
// crash or kill -9 at any moment.
//
// Writes go through GROUP COMMIT: every write call is queued to one writer thread with its own
// connection, which takes everything pending, runs it in one BEGIN IMMEDIATE transaction (each
// call inside its own SAVEPOINT, so a refused call such as CONCURRENT_LIMIT_REACHED rolls back
// alone), commits with one fsync for the whole batch, then wakes each caller. Callers block until
// their batch committed. The single writer makes the slot rule atomic within the process;
// BEGIN IMMEDIATE makes it atomic across processes writing the same file (the `ithaca keys`
// CLI, a second server). Reads use a small pool of read connections with cached prepared
// statements and do not queue behind the writer.
//
// insert_session_async() queues the same way without blocking: its callback runs on one of the
// store's completion threads once the batch committed.
//
// Every call is thread-safe. SQLite failures (busy past the timeout, I/O error, disk full)
// come back as store_unavailable with a detail; nothing throws. The destructor completes every
// queued write and runs every pending callback, then joins its threads; no call may be in flight
// or start once it runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ithaca/session/store.hpp"

namespace ithaca::store {

struct SqliteOptions {
  // How long a write waits for another process's transaction (the `ithaca keys` CLI, a second
  // server) before it fails with store_unavailable. They hold the lock for one short transaction
  // at a time; 5 s rides out that and a checkpoint, yet bounds a caller's wait.
  std::chrono::milliseconds busy_timeout{5000};
};

class SqliteStore final : public session::Store {
 public:
  // Opens (creating the file and its parent folder if needed) and migrates the database at
  // `path`. store_unavailable when it cannot be opened or is not a database; config_invalid
  // when its schema is newer than this build or `path` is not a file path.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   const SqliteOptions& options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The schema this build writes; schema_version holds one row per applied migration.
  static constexpr int kSchemaVersion = 2;

  Status upsert_account(const session::Account& account) override;
  Result<std::optional<session::Account>> get_account(const std::string& name) override;

  Status insert_api_key(const session::ApiKeyRecord& key) override;
  Result<std::optional<session::ApiKeyRecord>> find_api_key(const std::string& key_id) override;
  Result<std::vector<session::ApiKeyRecord>> list_api_keys() override;
  Result<bool> revoke_api_key(const std::string& key_id, TimePoint at) override;

  Status insert_session(const session::SessionRecord& session) override;
  // Queues the insert and returns at once; `done` runs on one of the store's completion threads
  // once the batch is fsync'd (or refused), so callers hold no thread during the fsync.
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

  // Group-commit counters since open, for metrics and benchmarks: operations / batches is the
  // average batch size (calls sharing one fsync).
  struct WriterStats {
    uint64_t batches = 0;     // transactions committed (or failed) by the writer
    uint64_t operations = 0;  // write calls run in them
    uint64_t apply_ns = 0;    // time the writer spent running the calls (BEGIN to before COMMIT)
    uint64_t commit_ns = 0;   // time the writer spent in COMMIT, mostly the fsync
    uint64_t wake_ns = 0;     // time the writer spent waking a committed batch (its first caller)
  };
  WriterStats writer_stats() const;

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace ithaca::store
