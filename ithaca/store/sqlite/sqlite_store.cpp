#include "ithaca/store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ithaca/base/log.hpp"
#include "ithaca/store/rules.hpp"

namespace ithaca::store {

using session::Account;
using session::ApiKeyRecord;
using session::LiveCount;
using session::SessionRecord;
using session::SessionState;

namespace {

// Another process (the `ithaca keys` CLI, a second server) holds the write lock for one short
// transaction at a time; 5 s rides out that and a checkpoint, yet bounds how long a caller waits
// before it hears store_unavailable.
constexpr int kBusyTimeoutMs = 5000;
// At most this many calls share one transaction: bounds the wait of the first caller in a batch
// and the WAL written per commit. Callers block, so a batch rarely holds more than the number of
// calling threads anyway.
constexpr size_t kMaxBatch = 1024;
// Read connections kept open between calls; more are opened under load and closed after.
// Each holds its own page cache (SQLite's default, about 2 MiB).
constexpr size_t kMaxIdleReaders = 16;
// After a checkpoint resets the WAL, truncate it to this size so a burst does not leave a huge
// file behind.
constexpr int64_t kJournalSizeLimitBytes = 64 * 1024 * 1024;

// ---- Schema -------------------------------------------------------------------------------

struct Migration {
  int version;
  const char* sql;
};

// Applied in order, each once, in the transaction that records it in schema_version. Never edit
// a released migration: add the next one.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  name            TEXT PRIMARY KEY,
  max_concurrent  INTEGER NOT NULL CHECK (max_concurrent >= 0),
  -- Live (not ended) sessions of the account, kept by the triggers below: the slot rule reads
  -- one row instead of counting sessions.
  live_count      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
  key_id       TEXT PRIMARY KEY,
  account      TEXT NOT NULL REFERENCES accounts(name),
  secret_hash  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,  -- unix ms
  revoked_at   INTEGER            -- unix ms; NULL while valid
);

CREATE TABLE sessions (
  id                TEXT PRIMARY KEY,
  account           TEXT NOT NULL REFERENCES accounts(name),
  streamer_id       TEXT NOT NULL DEFAULT '',
  state             TEXT NOT NULL
                    CHECK (state IN ('provisioned', 'connected', 'dropped', 'ended')),
  end_cause         TEXT NOT NULL DEFAULT 'none',
  created_at        INTEGER NOT NULL,  -- all times: unix ms
  connected_at      INTEGER,
  ended_at          INTEGER,
  token_jti         TEXT NOT NULL DEFAULT '',
  token_expires_at  INTEGER,
  deadline_at       INTEGER,
  capabilities      TEXT NOT NULL DEFAULT '{}',  -- JSON object of booleans
  metadata          TEXT NOT NULL DEFAULT '{}'   -- JSON object of strings
);

CREATE INDEX sessions_account_state ON sessions (account, state);
CREATE INDEX sessions_live_deadline ON sessions (deadline_at) WHERE state <> 'ended';
CREATE INDEX sessions_live_streamer ON sessions (streamer_id) WHERE state <> 'ended';
CREATE INDEX sessions_live_state ON sessions (state) WHERE state <> 'ended';
CREATE INDEX sessions_ended_at ON sessions (coalesce(ended_at, created_at))
  WHERE state = 'ended';

CREATE TRIGGER sessions_live_insert AFTER INSERT ON sessions WHEN NEW.state <> 'ended'
BEGIN
  UPDATE accounts SET live_count = live_count + 1 WHERE name = NEW.account;
END;
CREATE TRIGGER sessions_live_delete AFTER DELETE ON sessions WHEN OLD.state <> 'ended'
BEGIN
  UPDATE accounts SET live_count = live_count - 1 WHERE name = OLD.account;
END;
CREATE TRIGGER sessions_live_update AFTER UPDATE OF state, account ON sessions
WHEN (OLD.state <> 'ended') IS NOT (NEW.state <> 'ended') OR OLD.account IS NOT NEW.account
BEGIN
  UPDATE accounts SET live_count = live_count - 1
    WHERE name = OLD.account AND OLD.state <> 'ended';
  UPDATE accounts SET live_count = live_count + 1
    WHERE name = NEW.account AND NEW.state <> 'ended';
END;
)sql"},
};
static_assert(std::size(kMigrations) == static_cast<size_t>(SqliteStore::kSchemaVersion));

// ---- Statements (cached per connection by address) ----------------------------------------

#define ITHACA_SESSION_COLUMNS                                                                  \
  "id, account, streamer_id, state, end_cause, created_at, connected_at, ended_at, token_jti, " \
  "token_expires_at, deadline_at, capabilities, metadata"
#define ITHACA_LIVE "state IN ('provisioned', 'connected', 'dropped')"

constexpr const char kBegin[] = "BEGIN IMMEDIATE";
constexpr const char kCommit[] = "COMMIT";
constexpr const char kRollback[] = "ROLLBACK";
constexpr const char kSavepoint[] = "SAVEPOINT op";
constexpr const char kRelease[] = "RELEASE op";
constexpr const char kRollbackTo[] = "ROLLBACK TO op";

constexpr const char kUpsertAccount[] =
    "INSERT INTO accounts (name, max_concurrent) VALUES (?1, ?2) "
    "ON CONFLICT (name) DO UPDATE SET max_concurrent = excluded.max_concurrent";
constexpr const char kGetAccount[] =
    "SELECT name, max_concurrent, live_count FROM accounts WHERE name = ?1";
constexpr const char kInsertKey[] =
    "INSERT INTO api_keys (key_id, account, secret_hash, created_at, revoked_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char kKeyExists[] = "SELECT 1 FROM api_keys WHERE key_id = ?1";
constexpr const char kFindKey[] =
    "SELECT key_id, account, secret_hash, created_at, revoked_at FROM api_keys "
    "WHERE key_id = ?1";
constexpr const char kListKeys[] =
    "SELECT key_id, account, secret_hash, created_at, revoked_at FROM api_keys "
    "ORDER BY created_at, key_id";
constexpr const char kRevokeKey[] =
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE key_id = ?1";
constexpr const char kSessionExists[] = "SELECT 1 FROM sessions WHERE id = ?1";
constexpr const char kInsertSession[] = "INSERT INTO sessions (" ITHACA_SESSION_COLUMNS
                                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                        "?12, ?13)";
constexpr const char kGetSession[] =
    "SELECT " ITHACA_SESSION_COLUMNS " FROM sessions WHERE id = ?1";
constexpr const char kUpdateSession[] =
    "UPDATE sessions SET state = ?2, end_cause = ?3, connected_at = ?4, ended_at = ?5, "
    "token_jti = ?6, token_expires_at = ?7, deadline_at = ?8 WHERE id = ?1";
constexpr const char kListLiveOfAccount[] =
    "SELECT " ITHACA_SESSION_COLUMNS " FROM sessions WHERE account = ?1 AND " ITHACA_LIVE
    " ORDER BY created_at, rowid";
constexpr const char kListLiveAll[] = "SELECT " ITHACA_SESSION_COLUMNS
                                      " FROM sessions WHERE state <> 'ended' "
                                      "ORDER BY created_at, rowid";
constexpr const char kSessionsDue[] = "SELECT " ITHACA_SESSION_COLUMNS
                                      " FROM sessions WHERE state <> 'ended' AND deadline_at <= ?1 "
                                      "ORDER BY deadline_at, created_at, rowid LIMIT ?2";
constexpr const char kSessionsOnStreamer[] =
    "SELECT " ITHACA_SESSION_COLUMNS
    " FROM sessions WHERE state <> 'ended' AND streamer_id = ?1 ORDER BY created_at, rowid";
constexpr const char kPurgeEnded[] =
    "DELETE FROM sessions WHERE state = 'ended' AND coalesce(ended_at, created_at) < ?1";
constexpr const char kCountByState[] =
    "SELECT state, count(*) FROM sessions WHERE state <> 'ended' GROUP BY state";
constexpr const char kCountByAccount[] = "SELECT name, live_count FROM accounts ORDER BY name";

#undef ITHACA_SESSION_COLUMNS
#undef ITHACA_LIVE

std::shared_ptr<spdlog::logger> store_log() {
  static const auto instance = logger("store");
  return instance;
}

Error unavailable(std::string detail) {
  return make_error(ErrorCode::store_unavailable, "sqlite: " + std::move(detail));
}

// ---- Connection ---------------------------------------------------------------------------

// One sqlite3 handle with its prepared statements. Used by one thread at a time (the writer, or
// whoever leased it from the reader pool), so it is opened without SQLite's own mutex.
class Connection {
 public:
  enum class Role { writer, reader };

  static Result<std::unique_ptr<Connection>> open(const std::string& path, Role role) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == Role::writer) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto conn = std::unique_ptr<Connection>(new Connection(db));
    if (rc != SQLITE_OK) return conn->error("open " + path);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    if (role == Role::writer) {
      // journal_mode answers with the mode it ended in; anything but wal means no WAL.
      std::string mode;
      auto set_wal = conn->exec_collect("PRAGMA journal_mode=WAL", mode);
      if (!set_wal) return std::move(set_wal).error();
      if (mode != "wal") return unavailable("could not switch " + path + " to WAL (" + mode + ")");
      auto pragmas =
          conn->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=" +
                     std::to_string(kJournalSizeLimitBytes) + ";");
      if (!pragmas) return std::move(pragmas).error();
    } else {
      auto pragmas = conn->exec("PRAGMA query_only=ON;");
      if (!pragmas) return std::move(pragmas).error();
    }
    return conn;
  }

  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // The prepared statement of `sql`, one of the constants above (cached by its address).
  sqlite3_stmt* statement(const char* sql, int& rc) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

  // Runs SQL text (several statements allowed) that returns no rows worth reading.
  Status exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    std::string text = message ? message : "";
    sqlite3_free(message);
    if (rc != SQLITE_OK) return error(rc, "exec", text);
    return ok_status();
  }

  // Runs one statement and keeps the first column of its first row.
  Status exec_collect(const std::string& sql, std::string& first) {
    char* message = nullptr;
    auto keep = [](void* out, int n, char** values, char**) {
      if (n > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
      return 0;
    };
    const int rc = sqlite3_exec(db_, sql.c_str(), keep, &first, &message);
    std::string text = message ? message : "";
    sqlite3_free(message);
    if (rc != SQLITE_OK) return error(rc, "exec", text);
    return ok_status();
  }

  // The error of the connection's last failed call. A constraint violation is the caller's
  // mistake (invalid_request); everything else means the store cannot do its job.
  Error error(int rc, std::string_view what, std::string message = {}) const {
    if (message.empty()) message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    std::string detail = std::string(what) + ": " + message + " (" + sqlite3_errstr(rc) + ")";
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return make_error(ErrorCode::invalid_request, "constraint failed: " + message);
    }
    return unavailable(std::move(detail));
  }
  Error error(std::string_view what) const {
    return error(db_ ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM, what);
  }

  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// One use of a cached statement: bind, step, read columns; reset when it goes out of scope so
// no statement stays open (and holds a snapshot) between uses. Errors from prepare or bind are
// kept and reported by step().
class Query {
 public:
  Query(Connection& conn, const char* sql) : conn_(conn), stmt_(conn.statement(sql, rc_)) {}
  ~Query() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::string_view text) {
    if (ready()) {
      const char* data = text.data() ? text.data() : "";  // a null pointer would bind NULL
      keep(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    }
    return *this;
  }
  Query& bind(int index, int64_t value) {
    if (ready()) keep(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Query& bind(int index, TimePoint t) { return bind(index, to_unix_ms(t)); }
  Query& bind(int index, const std::optional<TimePoint>& t) {
    if (t) return bind(index, *t);
    if (ready()) keep(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  // true: a row is ready; false: done.
  Result<bool> step() {
    if (!ready()) return conn_.error(rc_, "prepare");
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return conn_.error(rc, "step");
  }
  // Steps a statement that returns no rows.
  Status run() {
    auto stepped = step();
    if (!stepped) return std::move(stepped).error();
    return ok_status();
  }

  bool null_at(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t int_at(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text_at(int col) const {
    const auto* text = sqlite3_column_text(stmt_, col);
    if (!text) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  TimePoint time_at(int col) const { return from_unix_ms(int_at(col)); }
  std::optional<TimePoint> opt_time_at(int col) const {
    if (null_at(col)) return std::nullopt;
    return time_at(col);
  }

 private:
  bool ready() const { return stmt_ && rc_ == SQLITE_OK; }
  void keep(int rc) {
    if (rc != SQLITE_OK) rc_ = rc;
  }

  Connection& conn_;
  int rc_ = SQLITE_OK;
  sqlite3_stmt* stmt_;
};

// ---- Rows -----------------------------------------------------------------------------------

std::string to_json_text(const nlohmann::json& value) {
  // replace: an invalid UTF-8 byte in metadata becomes U+FFFD instead of throwing.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Error corrupt(const std::string& what) {
  return make_error(ErrorCode::internal, "sqlite: undecodable " + what);
}

Result<SessionRecord> read_session(const Query& q) {
  SessionRecord s;
  s.id = q.text_at(0);
  s.account = q.text_at(1);
  s.streamer_id = q.text_at(2);
  if (!session::parse_session_state(q.text_at(3), s.state)) return corrupt("state of " + s.id);
  if (!session::parse_end_cause(q.text_at(4), s.end_cause)) return corrupt("end cause of " + s.id);
  s.created_at = q.time_at(5);
  s.connected_at = q.opt_time_at(6);
  s.ended_at = q.opt_time_at(7);
  s.token_jti = q.text_at(8);
  s.token_expires_at = q.opt_time_at(9);
  s.deadline_at = q.opt_time_at(10);

  const auto capabilities = nlohmann::json::parse(q.text_at(11), nullptr, false);
  if (!capabilities.is_object()) return corrupt("capabilities of " + s.id);
  for (const auto& [name, value] : capabilities.items()) {
    if (!value.is_boolean()) return corrupt("capabilities of " + s.id);
    s.capabilities.emplace(name, value.get<bool>());
  }
  const auto metadata = nlohmann::json::parse(q.text_at(12), nullptr, false);
  if (!metadata.is_object()) return corrupt("metadata of " + s.id);
  for (const auto& [name, value] : metadata.items()) {
    if (!value.is_string()) return corrupt("metadata of " + s.id);
    s.metadata.emplace(name, value.get<std::string>());
  }
  return s;
}

ApiKeyRecord read_key(const Query& q) {
  ApiKeyRecord key;
  key.key_id = q.text_at(0);
  key.account = q.text_at(1);
  key.secret_hash = q.text_at(2);
  key.created_at = q.time_at(3);
  key.revoked_at = q.opt_time_at(4);
  return key;
}

Result<std::vector<SessionRecord>> collect_sessions(Query& q) {
  std::vector<SessionRecord> out;
  while (true) {
    auto row = q.step();
    if (!row) return std::move(row).error();
    if (!*row) return out;
    auto s = read_session(q);
    if (!s) return std::move(s).error();
    out.push_back(std::move(s).value());
  }
}

Result<std::optional<SessionRecord>> get_session_on(Connection& c, const std::string& id) {
  Query q(c, kGetSession);
  q.bind(1, id);
  auto row = q.step();
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<SessionRecord>{};
  auto s = read_session(q);
  if (!s) return std::move(s).error();
  return std::optional<SessionRecord>{std::move(s).value()};
}

Result<bool> exists(Connection& c, const char* sql, const std::string& key) {
  Query q(c, sql);
  q.bind(1, key);
  return q.step();
}

Status migrate(Connection& c, const std::string& path) {
  if (auto begun = c.exec(kBegin); !begun) return begun;
  auto run = [&]() -> Result<int> {
    auto created = c.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    if (!created) return std::move(created).error();
    std::string text;
    auto read = c.exec_collect("SELECT coalesce(max(version), 0) FROM schema_version", text);
    if (!read) return std::move(read).error();
    const int current = std::stoi(text.empty() ? "0" : text);
    if (current > SqliteStore::kSchemaVersion) {
      return make_error(ErrorCode::config_invalid, path + " has schema version " +
                                                       std::to_string(current) +
                                                       ", newer than this build's " +
                                                       std::to_string(SqliteStore::kSchemaVersion));
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      if (auto applied = c.exec(m.sql); !applied) return std::move(applied).error();
      auto recorded = c.exec("INSERT INTO schema_version (version, applied_at) VALUES (" +
                             std::to_string(m.version) + ", " +
                             std::to_string(to_unix_ms(std::chrono::system_clock::now())) + ")");
      if (!recorded) return std::move(recorded).error();
      store_log()->info("migrated path={} schema_version={}", path, m.version);
    }
    return current;
  };
  auto done = run();
  if (!done) {
    if (c.in_transaction()) (void)c.exec(kRollback);
    return std::move(done).error();
  }
  return c.exec(kCommit);
}

}  // namespace

// ---- The store --------------------------------------------------------------------------------

// One queued write: `apply` runs on the writer thread inside the op's savepoint and says whether
// to keep its effect; `fail` replaces the outcome when the batch could not commit. The caller
// owns the op (on its stack) and waits in wait() until the writer calls complete().
//
// A mutex and condition variable rather than std::binary_semaphore: libstdc++'s semaphore spins
// with sched_yield before it sleeps, and dozens of waiting callers yielding in a loop took a
// third of the two cores away from the writer in store_bench.
struct WriteOp {
  std::function<bool(Connection&)> apply;
  std::function<void(const Error&)> fail;

  void complete() {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_one();  // under the lock: the caller cannot return and destroy `cv` before this
  }
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
  }

 private:
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

struct SqliteStore::Impl {
  std::string path;
  std::unique_ptr<Connection> writer;  // used only by the writer thread once it runs

  std::mutex mu;
  std::condition_variable wake;
  std::deque<WriteOp*> queue;
  bool closing = false;
  std::thread thread;

  std::mutex readers_mu;
  std::vector<std::unique_ptr<Connection>> idle_readers;

  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> operations{0};

  // ---- Writes ----

  template <class T, class F>
  Result<T> write(F&& fn) {
    std::optional<Result<T>> out;
    WriteOp op;
    op.apply = [&](Connection& c) {
      out.emplace(fn(c));
      return out->ok();
    };
    op.fail = [&](const Error& e) { out.emplace(e); };
    {
      std::lock_guard lock(mu);
      if (closing) return make_error(ErrorCode::shutting_down, "the store is closing");
      queue.push_back(&op);
    }
    wake.notify_one();
    op.wait();
    return std::move(*out);
  }

  void run_writer() {
    std::vector<WriteOp*> batch;
    batch.reserve(kMaxBatch);
    while (true) {
      {
        std::unique_lock lock(mu);
        wake.wait(lock, [&] { return !queue.empty() || closing; });
        if (queue.empty()) return;  // closing, and everything queued is done
        const size_t n = std::min(queue.size(), kMaxBatch);
        batch.assign(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
        queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
      }
      commit_batch(batch);
      batches.fetch_add(1, std::memory_order_relaxed);
      operations.fetch_add(batch.size(), std::memory_order_relaxed);
      for (WriteOp* op : batch) op->complete();  // `op` may vanish right after this
      batch.clear();
    }
  }

  static bool apply_guarded(WriteOp& op, Connection& c) {
    try {
      return op.apply(c);
    } catch (const std::exception& e) {
      op.fail(make_error(ErrorCode::internal, std::string("store write failed: ") + e.what()));
    } catch (...) {
      op.fail(make_error(ErrorCode::internal, "store write failed"));
    }
    return false;
  }

  void fail_all(const std::vector<WriteOp*>& ops, const Error& error) {
    for (WriteOp* op : ops) op->fail(error);
  }

  // One transaction for the whole batch, one savepoint per op; one fsync at COMMIT. When the
  // transaction as a whole fails, every op in it hears store_unavailable, even one that was
  // refused: its refusal was judged against writes that never happened.
  void commit_batch(const std::vector<WriteOp*>& batch) {
    Connection& c = *writer;
    auto statement = [&](const char* sql) {
      Query q(c, sql);
      return q.run();
    };
    if (auto begun = statement(kBegin); !begun) {
      store_log()->warn("batch failed path={} ops={} error=\"{}\"", path, batch.size(),
                        begun.error().to_string());
      fail_all(batch, begun.error());
      return;
    }
    for (WriteOp* op : batch) {
      if (auto saved = statement(kSavepoint); !saved) {
        abort_batch(batch, saved.error());
        return;
      }
      const bool keep = apply_guarded(*op, c);
      if (!c.in_transaction()) {
        // SQLite rolled the whole transaction back itself (I/O error, disk full, ...).
        abort_batch(batch,
                    unavailable("transaction aborted: " + std::string(sqlite3_errmsg(c.db()))));
        return;
      }
      Status ended = keep ? statement(kRelease) : statement(kRollbackTo);
      if (ended && !keep) ended = statement(kRelease);
      if (!ended) {
        abort_batch(batch, ended.error());
        return;
      }
    }
    if (auto committed = statement(kCommit); !committed) {
      abort_batch(batch, committed.error());
    }
  }

  void abort_batch(const std::vector<WriteOp*>& batch, const Error& cause) {
    if (writer->in_transaction()) (void)writer->exec(kRollback);
    Error error = cause.code == ErrorCode::store_unavailable
                      ? cause
                      : unavailable("batch rolled back: " + cause.to_string());
    store_log()->warn("batch failed path={} ops={} error=\"{}\"", path, batch.size(),
                      error.to_string());
    fail_all(batch, error);
  }

  // ---- Reads ----

  struct Lease {
    Impl* impl;
    std::unique_ptr<Connection> conn;
    ~Lease() {
      if (conn) impl->release_reader(std::move(conn));
    }
    Lease(Impl* i, std::unique_ptr<Connection> c) : impl(i), conn(std::move(c)) {}
    Lease(Lease&&) = default;
  };

  Result<Lease> lease_reader() {
    {
      std::lock_guard lock(readers_mu);
      if (!idle_readers.empty()) {
        Lease lease(this, std::move(idle_readers.back()));
        idle_readers.pop_back();
        return lease;
      }
    }
    auto opened = Connection::open(path, Connection::Role::reader);
    if (!opened) return std::move(opened).error();
    return Lease(this, std::move(opened).value());
  }

  void release_reader(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(readers_mu);
    if (idle_readers.size() < kMaxIdleReaders) idle_readers.push_back(std::move(conn));
  }

  template <class T, class F>
  Result<T> read(F&& fn) {
    auto lease = lease_reader();
    if (!lease) return std::move(lease).error();
    try {
      return fn(*lease->conn);
    } catch (const std::exception& e) {
      return make_error(ErrorCode::internal, std::string("store read failed: ") + e.what());
    }
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->run_writer(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
  store_log()->info("closed path={} batches={} operations={}", impl_->path, impl_->batches.load(),
                    impl_->operations.load());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return make_error(ErrorCode::config_invalid,
                      "sqlite store needs a file path, not '" + path + "'");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return unavailable("cannot create folder " + parent.string() + ": " + ec.message());
  }
  auto writer = Connection::open(path, Connection::Role::writer);
  if (!writer) return std::move(writer).error();
  if (auto migrated = migrate(**writer, path); !migrated) return std::move(migrated).error();

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->writer = std::move(writer).value();
  // Open one reader now, so a file a reader cannot use fails here and not on the first read.
  auto reader = Connection::open(path, Connection::Role::reader);
  if (!reader) return std::move(reader).error();
  impl->idle_readers.push_back(std::move(reader).value());
  store_log()->info("opened path={} schema_version={}", path, kSchemaVersion);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::WriterStats SqliteStore::writer_stats() const {
  return {impl_->batches.load(std::memory_order_relaxed),
          impl_->operations.load(std::memory_order_relaxed)};
}

// ---- Accounts and keys --------------------------------------------------------------------

Status SqliteStore::upsert_account(const Account& account) {
  if (auto valid = validate_account(account); !valid) return valid;
  return impl_->write<Ok>([&](Connection& c) -> Status {
    Query q(c, kUpsertAccount);
    q.bind(1, account.name).bind(2, int64_t{account.max_concurrent});
    return q.run();
  });
}

Result<std::optional<Account>> SqliteStore::get_account(const std::string& name) {
  return impl_->read<std::optional<Account>>([&](Connection& c) -> Result<std::optional<Account>> {
    Query q(c, kGetAccount);
    q.bind(1, name);
    auto row = q.step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<Account>{};
    return std::optional<Account>{Account{q.text_at(0), static_cast<int>(q.int_at(1))}};
  });
}

Status SqliteStore::insert_api_key(const ApiKeyRecord& key) {
  if (auto valid = validate_api_key(key); !valid) return valid;
  return impl_->write<Ok>([&](Connection& c) -> Status {
    Query account(c, kGetAccount);
    account.bind(1, key.account);
    auto found = account.step();
    if (!found) return std::move(found).error();
    if (!*found) return unknown_account(key.account);
    auto duplicate = exists(c, kKeyExists, key.key_id);
    if (!duplicate) return std::move(duplicate).error();
    if (*duplicate) {
      return make_error(ErrorCode::invalid_request, "api key " + key.key_id + " already exists");
    }
    Query q(c, kInsertKey);
    q.bind(1, key.key_id)
        .bind(2, key.account)
        .bind(3, key.secret_hash)
        .bind(4, key.created_at)
        .bind(5, key.revoked_at);
    return q.run();
  });
}

Result<std::optional<ApiKeyRecord>> SqliteStore::find_api_key(const std::string& key_id) {
  return impl_->read<std::optional<ApiKeyRecord>>(
      [&](Connection& c) -> Result<std::optional<ApiKeyRecord>> {
        Query q(c, kFindKey);
        q.bind(1, key_id);
        auto row = q.step();
        if (!row) return std::move(row).error();
        if (!*row) return std::optional<ApiKeyRecord>{};
        return std::optional<ApiKeyRecord>{read_key(q)};
      });
}

Result<std::vector<ApiKeyRecord>> SqliteStore::list_api_keys() {
  return impl_->read<std::vector<ApiKeyRecord>>(
      [&](Connection& c) -> Result<std::vector<ApiKeyRecord>> {
        Query q(c, kListKeys);
        std::vector<ApiKeyRecord> out;
        while (true) {
          auto row = q.step();
          if (!row) return std::move(row).error();
          if (!*row) return out;
          out.push_back(read_key(q));
        }
      });
}

Result<bool> SqliteStore::revoke_api_key(const std::string& key_id, TimePoint at) {
  return impl_->write<bool>([&](Connection& c) -> Result<bool> {
    Query q(c, kRevokeKey);
    q.bind(1, key_id).bind(2, at);
    if (auto done = q.run(); !done) return std::move(done).error();
    return sqlite3_changes(c.db()) > 0;
  });
}

// ---- Sessions -----------------------------------------------------------------------------

Status SqliteStore::insert_session(const SessionRecord& session) {
  if (auto valid = validate_new_session(session); !valid) return valid;
  return impl_->write<Ok>([&](Connection& c) -> Status {
    // The slot rule: inside BEGIN IMMEDIATE, so no other writer, thread or process, runs
    // between this read and the insert.
    Query account(c, kGetAccount);
    account.bind(1, session.account);
    auto found = account.step();
    if (!found) return std::move(found).error();
    if (!*found) return unknown_account(session.account);
    const auto limit = static_cast<int>(account.int_at(1));
    const auto live = static_cast<int>(account.int_at(2));
    if (live >= limit) return limit_reached(session.account, live, limit);

    auto duplicate = exists(c, kSessionExists, session.id);
    if (!duplicate) return std::move(duplicate).error();
    if (*duplicate) {
      return make_error(ErrorCode::invalid_request, "session " + session.id + " already exists");
    }
    Query q(c, kInsertSession);
    q.bind(1, session.id)
        .bind(2, session.account)
        .bind(3, session.streamer_id)
        .bind(4, session::to_string(session.state))
        .bind(5, session::to_string(session.end_cause))
        .bind(6, session.created_at)
        .bind(7, session.connected_at)
        .bind(8, session.ended_at)
        .bind(9, session.token_jti)
        .bind(10, session.token_expires_at)
        .bind(11, session.deadline_at)
        .bind(12, to_json_text(nlohmann::json(session.capabilities)))
        .bind(13, to_json_text(nlohmann::json(session.metadata)));
    return q.run();
  });
}

Result<std::optional<SessionRecord>> SqliteStore::get_session(const std::string& id) {
  return impl_->read<std::optional<SessionRecord>>(
      [&](Connection& c) { return get_session_on(c, id); });
}

Result<std::vector<SessionRecord>> SqliteStore::list_live_sessions(const std::string& account) {
  return impl_->read<std::vector<SessionRecord>>([&](Connection& c) {
    if (account.empty()) {
      Query q(c, kListLiveAll);
      return collect_sessions(q);
    }
    Query q(c, kListLiveOfAccount);
    q.bind(1, account);
    return collect_sessions(q);
  });
}

Result<SessionRecord> SqliteStore::update_session(const std::string& id,
                                                  const session::SessionUpdate& update) {
  return impl_->write<SessionRecord>([&](Connection& c) -> Result<SessionRecord> {
    auto current = get_session_on(c, id);
    if (!current) return std::move(current).error();
    if (!*current) return session_not_found(id);
    auto next = apply_update(**current, update);
    if (!next) return next;
    Query q(c, kUpdateSession);
    q.bind(1, id)
        .bind(2, session::to_string(next->state))
        .bind(3, session::to_string(next->end_cause))
        .bind(4, next->connected_at)
        .bind(5, next->ended_at)
        .bind(6, next->token_jti)
        .bind(7, next->token_expires_at)
        .bind(8, next->deadline_at);
    if (auto done = q.run(); !done) return std::move(done).error();
    return next;
  });
}

Result<std::vector<SessionRecord>> SqliteStore::sessions_due(TimePoint now, int limit) {
  if (limit <= 0) return std::vector<SessionRecord>{};
  return impl_->read<std::vector<SessionRecord>>([&](Connection& c) {
    Query q(c, kSessionsDue);
    q.bind(1, now).bind(2, int64_t{limit});
    return collect_sessions(q);
  });
}

Result<std::vector<SessionRecord>> SqliteStore::sessions_on_streamer(
    const std::string& streamer_id) {
  return impl_->read<std::vector<SessionRecord>>([&](Connection& c) {
    Query q(c, kSessionsOnStreamer);
    q.bind(1, streamer_id);
    return collect_sessions(q);
  });
}

Result<int> SqliteStore::purge_ended(TimePoint before) {
  return impl_->write<int>([&](Connection& c) -> Result<int> {
    Query q(c, kPurgeEnded);
    q.bind(1, before);
    if (auto done = q.run(); !done) return std::move(done).error();
    return sqlite3_changes(c.db());
  });
}

Result<std::vector<LiveCount>> SqliteStore::count_live_by_state() {
  return impl_->read<std::vector<LiveCount>>([&](Connection& c) -> Result<std::vector<LiveCount>> {
    std::vector<LiveCount> out;
    for (SessionState s :
         {SessionState::provisioned, SessionState::connected, SessionState::dropped}) {
      out.push_back({std::string(session::to_string(s)), 0});
    }
    Query q(c, kCountByState);
    while (true) {
      auto row = q.step();
      if (!row) return std::move(row).error();
      if (!*row) return out;
      const std::string state = q.text_at(0);
      for (LiveCount& count : out) {
        if (count.key == state) count.count = static_cast<int>(q.int_at(1));
      }
    }
  });
}

Result<std::vector<LiveCount>> SqliteStore::count_live_by_account() {
  return impl_->read<std::vector<LiveCount>>([&](Connection& c) -> Result<std::vector<LiveCount>> {
    Query q(c, kCountByAccount);
    std::vector<LiveCount> out;
    while (true) {
      auto row = q.step();
      if (!row) return std::move(row).error();
      if (!*row) return out;
      out.push_back({q.text_at(0), static_cast<int>(q.int_at(1))});
    }
  });
}

}  // namespace ithaca::store
